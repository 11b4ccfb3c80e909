import { FlowRetentionJob } from '@app/flows';
import { adminApi, cliOk, TEST_ADMIN_KEY } from '../support/admin';
import { http, HttpResult } from '../support/http';
import { lastCodeFor, sentMessages, uniquePhone, wrongCode } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';

/*
 * The websites' sign-in flows (FLOWS.md): the contract's walk-through, each of its messages and
 * errors, the session cookie and its endpoints, fixation and cross-site requests.
 */
const BASE = '/gortas/auth/v1';
const FLOW_ID = /^[A-Za-z0-9_-]{43}$/;
const PHONE_MODULE = {
  phone: { type: 'text', validation: '^\\d{5,16}$', required: true },
};
const ACTION = {
  type: 'options',
  required: false,
  additionalProperties: { values: ['check', 'send'], default: 'check' },
};

function otpModule(retries: number, message?: string) {
  return {
    otp: {
      type: 'text',
      required: true,
      ...(message === undefined ? {} : { message }),
      additionalProperties: { timeoutSec: 300, resendAfterSec: 30, retries },
    },
    action: ACTION,
  };
}

type Body = Record<string, unknown>;

function post(t: TestApp, path: string, body: unknown, headers: Record<string, string> = {}) {
  return http<Body>(t.url, 'POST', `${BASE}/${path}`, { body, headers });
}

function cookieOf(res: HttpResult<Body>): string {
  const header = res.headers['set-cookie'];
  if (!header) throw new Error('no cookie was set');
  return header.split(';')[0];
}

/** A flow of `default/otp` at its otp module: the number it went to and the code sent. */
async function atOtp(t: TestApp, realm = 'default') {
  const phone = uniquePhone();
  const started = await http<Body>(t.url, 'GET', `${BASE}/${realm}/otp`);
  const flowId = started.body.flowId as string;
  const sent = await post(t, `${realm}/otp`, {
    flowId,
    module: 'phone',
    credentials: { phone: { value: phone.e164.slice(1) } },
  });
  expect(sent.body.module).toBe('otp');
  return { flowId, phone, code: lastCodeFor(t.messagesFile, phone.e164).code };
}

function check(t: TestApp, flowId: string, otp: string, headers: Record<string, string> = {}) {
  return post(
    t,
    'default/otp',
    { flowId, module: 'otp', credentials: { otp: { value: otp }, action: { value: 'check' } } },
    headers,
  );
}

describe('sign-in flows (FLOWS.md)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: 'https://shop.example', ADMIN_API_KEY: TEST_ADMIN_KEY });
  });

  afterAll(() => t.close());

  it("walks the contract's walk-through: start → phone → otp → session", async () => {
    const start = await http<Body>(t.url, 'GET', `${BASE}/default/otp`);
    expect(start.status).toBe(200);
    expect(start.body).toEqual({
      flowId: expect.stringMatching(FLOW_ID),
      module: 'phone',
      credentials: PHONE_MODULE,
    });
    expect(start.headers['set-cookie']).toBeUndefined();
    const flowId = start.body.flowId as string;

    const phone = uniquePhone();
    const sent = await post(t, 'default/otp', {
      flowId,
      module: 'phone',
      credentials: { phone: { value: phone.e164.slice(1) } },
    });
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({ flowId, module: 'otp', credentials: otpModule(5) });
    const message = lastCodeFor(t.messagesFile, phone.e164);
    expect(message.channel).toBe('sms');

    const signedIn = await check(t, flowId, message.code);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toEqual({ sessionId: expect.stringMatching(FLOW_ID) });
    const sessionId = signedIn.body.sessionId as string;
    expect(signedIn.headers['set-cookie']).toBe(
      `Gortas-Persistence=${sessionId}; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800`,
    );

    const session = await http<Body>(t.url, 'GET', `${BASE}/default/session`, {
      headers: { cookie: cookieOf(signedIn) },
    });
    expect(session.status).toBe(200);
    const [user] = await t.dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM phone_users WHERE phone_e164 = $1`,
      [phone.e164],
    );
    expect(session.body).toEqual({
      sessionId,
      realm: 'default',
      user_id: user.id,
      phone_number: phone.e164,
      created_at: expect.any(String),
      expires_at: expect.any(String),
    });
    const lifetime =
      Date.parse(session.body.expires_at as string) - Date.parse(session.body.created_at as string);
    expect(lifetime).toBe(604_800_000);

    const bearer = await http<Body>(t.url, 'GET', `${BASE}/default/session`, {
      headers: { authorization: `Bearer ${sessionId}` },
    });
    expect(bearer.body).toEqual(session.body);

    // The flow ended: its id continues nothing, not even with the right code again.
    const again = await check(t, flowId, message.code);
    expect({ status: again.status, body: again.body }).toEqual({
      status: 400,
      body: { error: 'flow not found' },
    });
    // One store: the session is a row of app_sessions, its id kept only as a hash.
    const rows = await t.dataSource.query<Array<{ kind: string; client_id: string | null }>>(
      `SELECT kind, client_id FROM app_sessions WHERE phone_user_id = $1`,
      [user.id],
    );
    expect(rows).toEqual([{ kind: 'web', client_id: null }]);
    // Nothing secret in the logs: no flow id, session id, code or full number.
    const logs = t.logs.join('\n');
    for (const secret of [flowId, sessionId, message.code, phone.e164]) {
      expect(logs).not.toContain(secret);
    }
    const [{ found }] = await t.dataSource.query<Array<{ found: number }>>(
      `SELECT count(*)::int AS found FROM app_sessions s, auth_flows f
        WHERE position($1::bytea IN s.token_hash) > 0 OR position($2::bytea IN f.id_hash) > 0`,
      [Buffer.from(sessionId), Buffer.from(flowId)],
    );
    expect(found).toBe(0);
  });

  it('starts with POST and no flowId as with GET', async () => {
    const res = await post(t, 'default/otp', {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      flowId: expect.stringMatching(FLOW_ID),
      module: 'phone',
      credentials: PHONE_MODULE,
    });
    const empty = await http<Body>(t.url, 'POST', `${BASE}/default/otp`);
    expect(empty.body.module).toBe('phone');
  });

  it('gives every flow its own unguessable id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      ids.add((await http<Body>(t.url, 'GET', `${BASE}/default/otp`)).body.flowId as string);
    }
    expect(ids.size).toBe(20);
  });

  it('answers a wrong code with "Invalid OTP" and retries lowered, down to "OTP retries exceeded"', async () => {
    const { flowId, code } = await atOtp(t);
    for (let retries = 4; retries >= 1; retries--) {
      const res = await check(t, flowId, wrongCode(code));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        flowId,
        module: 'otp',
        credentials: otpModule(retries, 'Invalid OTP'),
      });
    }
    const last = await check(t, flowId, wrongCode(code));
    expect(last.body).toEqual({
      flowId,
      module: 'otp',
      credentials: otpModule(0, 'OTP retries exceeded'),
    });
    // Only a restart is left: even the right code finds no flow.
    const after = await check(t, flowId, code);
    expect({ status: after.status, body: after.body }).toEqual({
      status: 400,
      body: { error: 'flow not found' },
    });
  });

  it('does not count what is no code at all', async () => {
    const { flowId } = await atOtp(t);
    const res = await check(t, flowId, 'abc');
    expect(res.body).toEqual({ flowId, module: 'otp', credentials: otpModule(5, 'Invalid OTP') });
  });

  it('answers "OTP expired" past the code\'s lifetime, and `send` gives a fresh code', async () => {
    const { flowId, code, phone } = await atOtp(t);
    t.clock.advance(301);
    try {
      const res = await check(t, flowId, code);
      expect(res.body).toEqual({ flowId, module: 'otp', credentials: otpModule(5, 'OTP expired') });
      const resent = await post(t, 'default/otp', {
        flowId,
        module: 'otp',
        credentials: { action: { value: 'send' } },
      });
      expect(resent.body).toEqual({ flowId, module: 'otp', credentials: otpModule(5) });
      const fresh = lastCodeFor(t.messagesFile, phone.e164).code;
      const signedIn = await check(t, flowId, fresh);
      expect(signedIn.body.sessionId).toEqual(expect.stringMatching(FLOW_ID));
    } finally {
      t.clock.advance(-301);
    }
  });

  it('answers `send` within resendAfterSec with "Sending not allowed yet", and a fresh code after', async () => {
    const { flowId, phone, code } = await atOtp(t);
    await check(t, flowId, wrongCode(code));
    const send = { flowId, module: 'otp', credentials: { action: { value: 'send' } } };
    const early = await post(t, 'default/otp', send);
    expect(early.body).toEqual({
      flowId,
      module: 'otp',
      credentials: otpModule(4, 'Sending not allowed yet'),
    });
    expect(sentMessages(t.messagesFile).filter((m) => m.to === phone.e164)).toHaveLength(1);
    t.clock.advance(31);
    try {
      const later = await post(t, 'default/otp', send);
      expect(later.body).toEqual({ flowId, module: 'otp', credentials: otpModule(4) });
      const fresh = lastCodeFor(t.messagesFile, phone.e164).code;
      // The first code is worth nothing now (unless the fresh one happens to be the same).
      if (fresh !== code) {
        expect((await check(t, flowId, code)).body).toEqual({
          flowId,
          module: 'otp',
          credentials: otpModule(3, 'Invalid OTP'),
        });
      }
      const signedIn = await check(t, flowId, fresh);
      expect(signedIn.body.sessionId).toEqual(expect.stringMatching(FLOW_ID));
    } finally {
      t.clock.advance(-31);
    }
  });

  it('answers a number it cannot send to with the phone module and "Error sending OTP"', async () => {
    const flowId = (await http<Body>(t.url, 'GET', `${BASE}/default/otp`)).body.flowId as string;
    const refused = {
      flowId,
      module: 'phone',
      credentials: { phone: { ...PHONE_MODULE.phone, message: 'Error sending OTP' } },
    };
    for (const value of [
      '12',
      '+919876543219',
      '91 98765 43219',
      '0000000000',
      '99912345678',
      '',
    ]) {
      const res = await post(t, 'default/otp', {
        flowId,
        module: 'phone',
        credentials: { phone: { value } },
      });
      expect({ value, status: res.status, body: res.body }).toEqual({
        value,
        status: 200,
        body: refused,
      });
    }
    const missing = await post(t, 'default/otp', { flowId, module: 'phone' });
    expect(missing.body).toEqual(refused);
    // The reason is in the audit trail, not the answer.
    const events = await t.dataSource.query<Array<{ detail: string }>>(
      `SELECT detail FROM audit_events WHERE event = 'sign_in_refused' ORDER BY id`,
    );
    expect(events.map((e) => e.detail.split(':')[0])).toEqual(
      expect.arrayContaining(['INVALID_PHONE', 'VALIDATION_FAILED']),
    );
  });

  it('applies the limits per phone across flows, as "Error sending OTP"', async () => {
    const phone = uniquePhone();
    const digits = phone.e164.slice(1);
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const flowId = (await http<Body>(t.url, 'GET', `${BASE}/default/otp`)).body.flowId;
      const res = await post(t, 'default/otp', {
        flowId,
        module: 'phone',
        credentials: { phone: { value: digits } },
      });
      answers.push(res.body.module as string);
      t.clock.advance(31); // past each cooldown: the hourly limit per phone (5) decides
    }
    t.clock.advance(-31 * 6);
    expect(answers).toEqual(['otp', 'otp', 'otp', 'otp', 'otp', 'phone']);
    expect(sentMessages(t.messagesFile).filter((m) => m.to === phone.e164)).toHaveLength(5);
  });

  it('answers unknown realms and flows 404, unknown or expired flow ids 400', async () => {
    for (const path of ['default/nope', 'no-such-client/otp', 'default/' + 'x'.repeat(65)]) {
      for (const method of ['GET', 'POST']) {
        const res = await http<Body>(t.url, method, `${BASE}/${path}`, {
          body: method === 'POST' ? {} : undefined,
        });
        expect({ path, method, status: res.status, body: res.body }).toEqual({
          path,
          method,
          status: 404,
          body: { error: 'flow not found' },
        });
      }
    }
    const notFound = { status: 400, body: { error: 'flow not found' } };
    for (const flowId of ['nope', 'A'.repeat(43), 'x'.repeat(5000), '../../etc/passwd']) {
      const res = await post(t, 'default/otp', { flowId, module: 'phone' });
      expect({ status: res.status, body: res.body }).toEqual(notFound);
    }
    // A flow of another flow's path or realm is not found there.
    const flowId = (await http<Body>(t.url, 'GET', `${BASE}/default/otp`)).body.flowId;
    const elsewhere = await post(t, 'default/email-otp', { flowId, module: 'email' });
    expect({ status: elsewhere.status, body: elsewhere.body }).toEqual(notFound);
    // Past FLOW_TTL_SECONDS.
    t.clock.advance(901);
    try {
      const late = await post(t, 'default/otp', {
        flowId,
        module: 'phone',
        credentials: { phone: { value: uniquePhone().e164.slice(1) } },
      });
      expect({ status: late.status, body: late.body }).toEqual(notFound);
    } finally {
      t.clock.advance(-901);
    }
  });

  it('answers malformed JSON and wrong types 400 {"error":"bad request"}', async () => {
    const flowId = (await http<Body>(t.url, 'GET', `${BASE}/default/otp`)).body.flowId;
    const bad = { status: 400, body: { error: 'bad request' } };
    for (const body of ['{"flowId":', '{"a":1}}', '[', `${'['.repeat(40)}${']'.repeat(40)}`]) {
      const res = await http<Body>(t.url, 'POST', `${BASE}/default/otp`, { body });
      expect({ sent: body, status: res.status, body: res.body }).toEqual({ sent: body, ...bad });
    }
    for (const body of [
      [],
      'null',
      '"text"',
      42,
      { flowId: 42 },
      { flowId: ['x'] },
      { flowId, module: 7 },
      { flowId, credentials: [] },
      { flowId, credentials: 'phone' },
      { flowId, credentials: { phone: 'x' } },
      { flowId, credentials: { phone: { value: 919876543219 } } },
      { flowId, credentials: { phone: { value: { $gt: '' } } } },
    ]) {
      const res = await post(t, 'default/otp', body);
      if (body === 'null') {
        // JSON null is no body: a start.
        expect(res.body.module).toBe('phone');
        continue;
      }
      expect({ sent: body, status: res.status, body: res.body }).toEqual({ sent: body, ...bad });
    }
    const { flowId: atCode } = await atOtp(t);
    for (const credentials of [
      { action: { value: 'delete' } },
      { otp: { value: 1234 } },
      { action: { value: ['send'] } },
    ]) {
      const res = await post(t, 'default/otp', { flowId: atCode, module: 'otp', credentials });
      expect({ credentials, status: res.status, body: res.body }).toEqual({
        credentials,
        ...bad,
      });
    }
  });

  it('refuses prototype keys, oversized bodies and forms with the service envelope', async () => {
    const proto = await http<Body>(t.url, 'POST', `${BASE}/default/otp`, {
      body: '{"__proto__":{"admin":true}}',
    });
    expect({ status: proto.status, body: proto.body }).toEqual({
      status: 400,
      body: { error: 'bad request' },
    });
    const big = await post(t, 'default/otp', { flowId: 'x'.repeat(20_000) });
    expect(big.status).toBe(413);
    const form = await http<Body>(t.url, 'POST', `${BASE}/default/otp`, {
      body: 'flowId=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
  });

  it('answers a stale module with the module the flow is at', async () => {
    const { flowId } = await atOtp(t);
    const res = await post(t, 'default/otp', {
      flowId,
      module: 'phone',
      credentials: { phone: { value: uniquePhone().e164.slice(1) } },
    });
    expect(res.body).toEqual({ flowId, module: 'otp', credentials: otpModule(5) });
  });

  it('never adopts a session id it did not make (fixation)', async () => {
    const planted = 'P'.repeat(43);
    const { flowId, code } = await atOtp(t);
    const signedIn = await check(t, flowId, code, { cookie: `Gortas-Persistence=${planted}` });
    const sessionId = signedIn.body.sessionId as string;
    expect(sessionId).toMatch(FLOW_ID);
    expect(sessionId).not.toBe(planted);
    const plantedSession = await http<Body>(t.url, 'GET', `${BASE}/default/session`, {
      headers: { cookie: `Gortas-Persistence=${planted}` },
    });
    expect({ status: plantedSession.status, body: plantedSession.body }).toEqual({
      status: 401,
      body: { status: 'fail' },
    });

    // A live session's id planted in a browser: the next sign-in there gets a new id all the same.
    const second = await atOtp(t);
    const again = await check(t, second.flowId, second.code, {
      cookie: `Gortas-Persistence=${sessionId}`,
    });
    expect(again.body.sessionId).toMatch(FLOW_ID);
    expect(again.body.sessionId).not.toBe(sessionId);
  });

  it('refuses a cookie-carrying POST from a page of another origin', async () => {
    const { flowId, code } = await atOtp(t);
    const { body: session } = await check(t, flowId, code);
    const cookie = `Gortas-Persistence=${session.sessionId as string}`;
    const refused = await post(t, 'default/otp', {}, { cookie, origin: 'https://evil.example' });
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 403,
      body: { error: 'origin not allowed' },
    });
    const logout = await http<Body>(t.url, 'DELETE', `${BASE}/default/session`, {
      headers: { cookie, origin: 'https://evil.example' },
    });
    expect(logout.status).toBe(403);
    // An allowed origin, no origin at all, or no cookie: fine.
    for (const headers of [
      { cookie, origin: 'https://shop.example' } as Record<string, string>,
      { cookie, origin: 'HTTPS://SHOP.EXAMPLE:443' },
      { cookie },
      { origin: 'https://evil.example' },
    ]) {
      const res = await post(t, 'default/otp', {}, headers);
      expect({ headers, status: res.status }).toEqual({ headers, status: 200 });
    }
    // The session survived the refused logout.
    const still = await http<Body>(t.url, 'GET', `${BASE}/default/session`, {
      headers: { cookie },
    });
    expect(still.status).toBe(200);
  });

  it('signs out: the session ends and the cookie is cleared', async () => {
    const { flowId, code } = await atOtp(t);
    const signedIn = await check(t, flowId, code);
    const cookie = cookieOf(signedIn);
    const out = await http<Body>(t.url, 'DELETE', `${BASE}/default/session`, {
      headers: { cookie, origin: 'https://shop.example' },
    });
    expect({ status: out.status, body: out.body }).toEqual({
      status: 200,
      body: { status: 'success' },
    });
    expect(out.headers['set-cookie']).toBe(
      'Gortas-Persistence=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0',
    );
    const fail = { status: 401, body: { status: 'fail' } };
    const after = await http<Body>(t.url, 'GET', `${BASE}/default/session`, {
      headers: { cookie },
    });
    expect({ status: after.status, body: after.body }).toEqual(fail);
    const twice = await http<Body>(t.url, 'DELETE', `${BASE}/default/session`, {
      headers: { cookie },
    });
    expect({ status: twice.status, body: twice.body }).toEqual(fail);
    const [row] = await t.dataSource.query<Array<{ end_reason: string }>>(
      `SELECT end_reason FROM app_sessions WHERE kind = 'web' AND ended_at IS NOT NULL`,
    );
    expect(row.end_reason).toBe('logout');
  });

  it('shows web sessions to operators (CLI and /admin), who can end them', async () => {
    const { flowId, phone, code } = await atOtp(t);
    const signedIn = await check(t, flowId, code);
    const cookie = cookieOf(signedIn);
    const listed = await cliOk(t, 'sessions:list', '--phone', phone.e164, '--active');
    expect(listed.items).toEqual([
      expect.objectContaining({
        kind: 'web',
        clientId: null,
        phone: phone.e164,
        email: null,
        active: true,
      }),
    ]);
    const id = listed.items[0].id as string;
    const page = await adminApi(t, 'GET', `/sessions?phone=%2B${phone.e164.slice(1)}`);
    expect(page.body.items).toEqual(listed.items);
    // Never the cookie's value: only its hash is stored.
    expect(JSON.stringify(listed)).not.toContain(signedIn.body.sessionId as string);

    expect(await cliOk(t, 'sessions:end', '--session', id)).toEqual({ ended: 1 });
    const fail = { status: 401, body: { status: 'fail' } };
    const after = await http<Body>(t.url, 'GET', `${BASE}/default/session`, {
      headers: { cookie },
    });
    expect({ status: after.status, body: after.body }).toEqual(fail);
    const ended = await cliOk(t, 'sessions:list', '--session', id);
    expect(ended.items[0]).toMatchObject({ active: false, endReason: 'revoked_session' });

    // A phone's sessions, through /admin.
    const again = await post(t, 'default/otp', { module: 'phone' }).then(async (started) => {
      const next = started.body.flowId as string;
      await post(t, 'default/otp', {
        flowId: next,
        module: 'phone',
        credentials: { phone: { value: phone.e164.slice(1) } },
      });
      t.clock.advance(31);
      return check(t, next, lastCodeFor(t.messagesFile, phone.e164).code);
    });
    const answer = await adminApi(t, 'POST', '/sessions/end', { body: { phone: phone.e164 } });
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 200,
      body: { ended: 1 },
    });
    const gone = await http<Body>(t.url, 'GET', `${BASE}/default/session`, {
      headers: { cookie: cookieOf(again) },
    });
    expect({ status: gone.status, body: gone.body }).toEqual(fail);
  });

  it('answers 401 {"status":"fail"} without a session, with a bad one, or in another realm', async () => {
    const { flowId, code } = await atOtp(t);
    const { body } = await check(t, flowId, code);
    const fail = { status: 401, body: { status: 'fail' } };
    for (const headers of [
      {} as Record<string, string>,
      { cookie: 'Gortas-Persistence=' },
      { cookie: 'other=1' },
      { cookie: `Gortas-Persistence=${'x'.repeat(4000)}` },
      { authorization: 'Bearer' },
      { authorization: `Basic ${body.sessionId as string}` },
      { authorization: `Bearer ${(body.sessionId as string).slice(1)}` },
    ]) {
      const res = await http<Body>(t.url, 'GET', `${BASE}/default/session`, { headers });
      expect({ headers, status: res.status, body: res.body }).toEqual({ headers, ...fail });
    }
    const elsewhere = await http<Body>(t.url, 'GET', `${BASE}/some-client/session`, {
      headers: { authorization: `Bearer ${body.sessionId as string}` },
    });
    expect({ status: elsewhere.status, body: elsewhere.body }).toEqual(fail);
  });
  it('sends one code for a double-submitted number, and answers both with the otp module', async () => {
    const flowId = (await http<Body>(t.url, 'GET', `${BASE}/default/otp`)).body.flowId;
    const phone = uniquePhone();
    const body = {
      flowId,
      module: 'phone',
      credentials: { phone: { value: phone.e164.slice(1) } },
    };
    const answers = await Promise.all([post(t, 'default/otp', body), post(t, 'default/otp', body)]);
    expect(answers.map((res) => res.body)).toEqual([
      { flowId, module: 'otp', credentials: otpModule(5) },
      { flowId, module: 'otp', credentials: otpModule(5) },
    ]);
    expect(sentMessages(t.messagesFile).filter((m) => m.to === phone.e164)).toHaveLength(1);
  });

  it('signs in once when the right code arrives many times at once', async () => {
    const { flowId, code } = await atOtp(t);
    const answers = await Promise.all(Array.from({ length: 8 }, () => check(t, flowId, code)));
    const sessions = answers.filter((res) => typeof res.body.sessionId === 'string');
    expect(sessions).toHaveLength(1);
    for (const res of answers.filter((other) => other.body.sessionId === undefined)) {
      // The others lost the race: the flow had ended, or the code was spent meanwhile.
      expect([
        JSON.stringify({ error: 'flow not found' }),
        JSON.stringify({ flowId, module: 'otp', credentials: otpModule(5, 'OTP expired') }),
      ]).toContain(JSON.stringify(res.body));
    }
    const [{ count }] = await t.dataSource.query<Array<{ count: number }>>(
      `SELECT count(*)::int AS count FROM app_sessions s JOIN phone_users p ON p.id = s.phone_user_id
        WHERE s.created_at > now() - interval '1 minute' AND s.kind = 'web'
          AND s.token_hash = sha256(convert_to($1, 'UTF8'))`,
      [sessions[0].body.sessionId],
    );
    expect(count).toBe(1);
  });

  it('counts parallel wrong codes exactly: never more tries than retries', async () => {
    const { flowId, code } = await atOtp(t);
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => check(t, flowId, wrongCode(code))),
    );
    const messages = answers.map((res) => {
      const otp = (res.body.credentials as Body | undefined)?.otp as Body | undefined;
      return otp?.message ?? res.body.error;
    });
    expect(messages.filter((message) => message === 'Invalid OTP')).toHaveLength(4);
    expect(
      messages.filter((message) => message === 'OTP retries exceeded').length,
    ).toBeGreaterThanOrEqual(1);
    expect((await check(t, flowId, code)).body).toEqual({ error: 'flow not found' });
  });

  it('answers hostile realms and flows 404, and finds the cookie among others', async () => {
    for (const path of [
      'default%00/otp',
      'def%20ault/otp',
      `${'r'.repeat(129)}/otp`,
      '%E2%80%AEtluafed/otp',
      'default/otp%00',
      'default/..%2Fotp',
    ]) {
      const res = await http<Body>(t.url, 'GET', `${BASE}/${path}`);
      expect({ path, status: res.status, body: res.body }).toEqual({
        path,
        status: 404,
        body: { error: 'flow not found' },
      });
    }
    const { flowId, code } = await atOtp(t);
    const { body } = await check(t, flowId, code);
    const res = await http<Body>(t.url, 'GET', `${BASE}/default/session`, {
      headers: { cookie: `theme=dark; Gortas-Persistence=${body.sessionId as string}; lang=en` },
    });
    expect(res.body.sessionId).toBe(body.sessionId);
  });

  it("lets the listed origins' pages send the cookie (CORS with credentials)", async () => {
    const preflight = await http<Body>(t.url, 'OPTIONS', `${BASE}/default/otp`, {
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.headers['access-control-allow-origin']).toBe('https://shop.example');
    expect(preflight.headers['access-control-allow-credentials']).toBe('true');
    const other = await http<Body>(t.url, 'OPTIONS', `${BASE}/default/otp`, {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('deletes flows past their expiry, and only those', async () => {
    const flows = (at: Date) =>
      t.dataSource.query<Array<{ expired: boolean }>>(
        `SELECT expires_at < $1 AS expired FROM auth_flows`,
        [at],
      );
    await http<Body>(t.url, 'GET', `${BASE}/default/otp`);
    t.clock.advance(901);
    try {
      await http<Body>(t.url, 'GET', `${BASE}/default/otp`); // a live one
      const now = t.clock.now();
      const before = await flows(now);
      expect(before.filter((flow) => flow.expired).length).toBeGreaterThan(0);
      await t.app.get(FlowRetentionJob).purgeOnce();
      const after = await flows(now);
      expect(after.filter((flow) => flow.expired)).toEqual([]);
      expect(after).toHaveLength(before.filter((flow) => !flow.expired).length);
    } finally {
      t.clock.advance(-901);
    }
  });

  it('counts sign-ins in otp_verifications_total', async () => {
    const metrics = await http<string>(t.url, 'GET', '/metrics');
    expect(metrics.text).toMatch(/otp_verifications_total\{result="signed_in"\} [1-9]/);
  });
});

describe('the session cookie behind https', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      PUBLIC_URL: 'https://login.example.com',
      SESSION_TTL_SECONDS: '3600',
    });
  });

  afterAll(() => t.close());

  it('is Secure when PUBLIC_URL is https, and lives SESSION_TTL_SECONDS', async () => {
    const { flowId, code } = await atOtp(t);
    const signedIn = await check(t, flowId, code);
    expect(signedIn.headers['set-cookie']).toBe(
      `Gortas-Persistence=${signedIn.body.sessionId as string}; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure`,
    );
    const cookie = cookieOf(signedIn);
    // The service's own origin may post with the cookie.
    const own = await post(t, 'default/otp', {}, { cookie, origin: 'https://login.example.com' });
    expect(own.status).toBe(200);
    t.clock.advance(3601);
    try {
      const expired = await http<Body>(t.url, 'GET', `${BASE}/default/session`, {
        headers: { cookie },
      });
      expect(expired.status).toBe(401);
    } finally {
      t.clock.advance(-3601);
    }
    const out = await http<Body>(t.url, 'DELETE', `${BASE}/default/session`, {
      headers: { cookie },
    });
    expect(out.headers['set-cookie']).toBe(
      'Gortas-Persistence=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure',
    );
  });
});
