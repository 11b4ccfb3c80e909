import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionStore } from '@app/sessions';
import { http, HttpResult } from '../support/http';
import { lastCodeFor, uniquePhone } from '../support/otp-client';
import { e2eDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';
import { cliOk, registeredClient } from '../support/admin';
import { eventually } from '../support/eventually';

/*
 * Sign-in flows beyond the service's own realm and built-in flows: FLOWS_FILE, the email module,
 * partner clients as realms (their countries; suspension), the one session store, the per-IP
 * limit, and a flow continued on a second instance.
 */
const BASE = '/gortas/auth/v1';
type Body = Record<string, unknown>;

function post(t: TestApp, path: string, body: unknown, headers: Record<string, string> = {}) {
  return http<Body>(t.url, 'POST', `${BASE}/${path}`, { body, headers });
}

async function start(t: TestApp, path: string): Promise<string> {
  const res = await http<Body>(t.url, 'GET', `${BASE}/${path}`);
  expect(res.status).toBe(200);
  return res.body.flowId as string;
}

function answer(t: TestApp, path: string, flowId: string, module: string, value: string) {
  return post(t, path, { flowId, module, credentials: { [module]: { value } } });
}

function session(t: TestApp, realm: string, signedIn: HttpResult<Body>) {
  return http<Body>(t.url, 'GET', `${BASE}/${realm}/session`, {
    headers: { authorization: `Bearer ${signedIn.body.sessionId as string}` },
  });
}

describe('sign-in flows: FLOWS_FILE, email, partner realms', () => {
  let t: TestApp;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'flows-file-'));
    const file = join(scratch, 'flows.json');
    writeFileSync(
      file,
      JSON.stringify({
        default: { 'phone-email': ['phone', 'otp', 'email', 'otp'], otp: ['email', 'otp'] },
      }),
    );
    t = await startTestApp({
      FLOWS_FILE: file,
      NOTIFY_CHANNELS: 'sms,email',
      EMAIL_DRIVER: 'file',
      EMAIL_FROM: 'Sign-in <no-reply@example.com>',
    });
  });

  afterAll(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('walks a FLOWS_FILE flow: phone → otp → email → otp, to a session with both', async () => {
    const path = 'default/phone-email';
    const flowId = await start(t, path);
    const phone = uniquePhone();
    expect((await answer(t, path, flowId, 'phone', phone.e164.slice(1))).body.module).toBe('otp');
    const phoneCode = lastCodeFor(t.messagesFile, phone.e164).code;
    const next = await answer(t, path, flowId, 'otp', phoneCode);
    expect(next.body).toEqual({
      flowId,
      module: 'email',
      credentials: {
        email: {
          type: 'text',
          validation: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
          required: true,
        },
      },
    });
    const address = `asha.${Date.now()}@example.com`;
    expect((await answer(t, path, flowId, 'email', address.toUpperCase())).body.module).toBe('otp');
    const mail = lastCodeFor(t.messagesFile, address);
    expect(mail.channel).toBe('email');
    // The phone's code was spent: it does not check the email's.
    if (phoneCode !== mail.code) {
      const wrong = await answer(t, path, flowId, 'otp', phoneCode);
      expect((wrong.body.credentials as Body).otp).toMatchObject({ message: 'Invalid OTP' });
    }
    const signedIn = await answer(t, path, flowId, 'otp', mail.code);
    expect(signedIn.body.sessionId).toEqual(expect.any(String));
    const read = await session(t, 'default', signedIn);
    expect(read.body).toMatchObject({ realm: 'default', phone_number: phone.e164, email: address });
  });

  it('lets FLOWS_FILE replace a built-in flow of a realm, and keeps the others', async () => {
    const res = await http<Body>(t.url, 'GET', `${BASE}/default/otp`);
    expect(res.body.module).toBe('email');
    // Another realm keeps the built-in `otp` (checked with a partner realm below).
  });

  it('walks the built-in email-otp flow to a session without a phone', async () => {
    const path = 'default/email-otp';
    const flowId = await start(t, path);
    const address = `ravi.${Date.now()}@example.com`;
    const bad = await answer(t, path, flowId, 'email', 'not an address');
    expect((bad.body.credentials as Body).email).toMatchObject({ message: 'Error sending OTP' });
    await answer(t, path, flowId, 'email', address);
    const signedIn = await answer(
      t,
      path,
      flowId,
      'otp',
      lastCodeFor(t.messagesFile, address).code,
    );
    const read = await session(t, 'default', signedIn);
    expect(read.body).toMatchObject({
      realm: 'default',
      user_id: null,
      phone_number: null,
      email: address,
    });
    // Operators see it too (no phone, no client) and can end it.
    const [{ id }] = await t.dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM app_sessions WHERE email = $1`,
      [address],
    );
    const listed = await cliOk(t, 'sessions:list', '--session', id);
    expect(listed.items).toEqual([
      expect.objectContaining({
        id,
        kind: 'web',
        clientId: null,
        phoneUserId: null,
        phone: null,
        email: address,
        active: true,
      }),
    ]);
    expect(await cliOk(t, 'sessions:end', '--session', id)).toEqual({ ended: 1 });
    expect((await session(t, 'default', signedIn)).status).toBe(401);
  });

  it('refuses control characters and lone surrogates in an email as any bad address', async () => {
    const path = 'default/email-otp';
    const flowId = await start(t, path);
    const bad = await answer(t, path, flowId, 'email', 'not an address');
    expect((bad.body.credentials as Body).email).toMatchObject({ message: 'Error sending OTP' });
    // NUL once reached PostgreSQL (500); \u0001 was accepted and a code sent.
    for (const value of ['a\u0000b@example.com', '\ud800@example.com', 'a\u0001b@example.com']) {
      const res = await answer(t, path, flowId, 'email', value);
      expect([res.status, res.body]).toEqual([bad.status, bad.body]);
    }
  });

  it("runs a partner client's realm with its countries, its own user ids, until suspended", async () => {
    const client = await registeredClient(t, '--allowed-countries', '+44');
    const path = `${client.id}/otp`;
    const flowId = await start(t, path);
    // Built in for this realm (FLOWS_FILE replaced `otp` of `default` only).
    expect((await http<Body>(t.url, 'GET', `${BASE}/${path}`)).body.module).toBe('phone');
    const india = await answer(t, path, flowId, 'phone', uniquePhone().e164.slice(1));
    expect((india.body.credentials as Body).phone).toMatchObject({ message: 'Error sending OTP' });
    const [refusal] = await t.dataSource.query<Array<{ detail: string; client_id: string }>>(
      `SELECT detail, client_id FROM audit_events WHERE event = 'sign_in_refused'
        ORDER BY id DESC LIMIT 1`,
    );
    expect(refusal).toEqual({ client_id: client.id, detail: expect.stringMatching(/^COUNTRY/) });

    const uk = '+447911123456';
    expect((await answer(t, path, flowId, 'phone', uk.slice(1))).body.module).toBe('otp');
    const signedIn = await answer(t, path, flowId, 'otp', lastCodeFor(t.messagesFile, uk).code);
    const read = await session(t, client.id, signedIn);
    const [user] = await t.dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM phone_users WHERE phone_e164 = $1`,
      [uk],
    );
    expect(read.body).toMatchObject({ realm: client.id, phone_number: uk });
    // Pairwise, as the client's app tokens' `sub`: not the service's own id of the person.
    expect(read.body.user_id).toEqual(expect.any(String));
    expect(read.body.user_id).not.toBe(user.id);
    // Its session is not another realm's.
    expect((await session(t, 'default', signedIn)).status).toBe(401);
    const [row] = await t.dataSource.query<Array<{ client_id: string; kind: string }>>(
      `SELECT client_id, kind FROM app_sessions WHERE phone_user_id = $1`,
      [user.id],
    );
    expect(row).toEqual({ client_id: client.id, kind: 'web' });

    await cliOk(t, 'clients:suspend', '--client', client.id);
    await eventually(
      async () => (await http<Body>(t.url, 'GET', `${BASE}/${path}`)).status === 404,
    );
    expect((await session(t, client.id, signedIn)).body).toEqual({ status: 'fail' });
    await cliOk(t, 'clients:activate', '--client', client.id);
    await eventually(async () => (await session(t, client.id, signedIn)).status === 200);
  });

  it("keeps web sessions in the one session store: ending a person's sessions ends them", async () => {
    const path = 'default/email-otp';
    const flowId = await start(t, path);
    const address = `mira.${Date.now()}@example.com`;
    await answer(t, path, flowId, 'email', address);
    const first = await answer(t, path, flowId, 'otp', lastCodeFor(t.messagesFile, address).code);
    const phone = uniquePhone();
    const phoneFlow = await start(t, 'default/phone-email');
    await answer(t, 'default/phone-email', phoneFlow, 'phone', phone.e164.slice(1));
    await answer(
      t,
      'default/phone-email',
      phoneFlow,
      'otp',
      lastCodeFor(t.messagesFile, phone.e164).code,
    );
    await answer(t, 'default/phone-email', phoneFlow, 'email', address);
    const second = await answer(
      t,
      'default/phone-email',
      phoneFlow,
      'otp',
      lastCodeFor(t.messagesFile, address).code,
    );
    const [user] = await t.dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM phone_users WHERE phone_e164 = $1`,
      [phone.e164],
    );
    const ended = await t.app
      .get(SessionStore)
      .end({ phoneUserId: user.id, reason: 'revoked_user' });
    expect(ended).toBe(1);
    expect((await session(t, 'default', second)).status).toBe(401);
    expect((await session(t, 'default', first)).status).toBe(200);
  });
});

describe('the per-IP limit on sign-in flows', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ HTTP_RATE_LIMIT_PER_MINUTE: '3' });
  });

  afterAll(() => t.close());

  it('counts the flow API per IP and answers 429 past it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await http<Body>(t.url, 'GET', `${BASE}/default/otp`)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

const describeOnSharedDatabase = e2eDatabase() === 'embedded' ? describe.skip : describe;

describeOnSharedDatabase('a flow on two instances of one database', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({}, { database: a.database });
  });

  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('is continued by any instance: started on one, answered on the other', async () => {
    const flowId = await start(a, 'default/otp');
    const phone = uniquePhone();
    const sent = await answer(b, 'default/otp', flowId, 'phone', phone.e164.slice(1));
    expect(sent.body.module).toBe('otp');
    const code = lastCodeFor(b.messagesFile, phone.e164).code;
    const wrong = await answer(
      a,
      'default/otp',
      flowId,
      'otp',
      code === '000000' ? '111111' : '000000',
    );
    expect((wrong.body.credentials as Body).otp).toMatchObject({
      message: 'Invalid OTP',
      additionalProperties: { retries: 4 },
    });
    const signedIn = await answer(a, 'default/otp', flowId, 'otp', code);
    expect(signedIn.body.sessionId).toEqual(expect.any(String));
    expect((await session(b, 'default', signedIn)).body).toMatchObject({
      phone_number: phone.e164,
    });
    const out = await http<Body>(b.url, 'DELETE', `${BASE}/default/session`, {
      headers: { authorization: `Bearer ${signedIn.body.sessionId as string}` },
    });
    expect(out.status).toBe(200);
    expect((await session(a, 'default', signedIn)).status).toBe(401);
  });
});
