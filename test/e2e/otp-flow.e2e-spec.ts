import { jsonArgs, Sql } from '@app/database';
import { Notifiers, OutboxService } from '@app/notifications';
import { CodeGenerator } from '@app/otp';
import { LinkRepository } from '@app/users';
import { eventually } from '../support/eventually';
import { http } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';
import {
  lastCodeFor,
  OtpClient,
  sentMessages,
  uniquePhone,
  wrongCode,
} from '../support/otp-client';
import { e2eDatabase } from '../support/test-database';
import { newPartnerUser } from '../support/tokens';

describe('OTP flow: register → verify → linked', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  const client = (token: string) => new OtpClient(t, token);

  /** A fresh partner user who registered a fresh phone, and the code that was sent. */
  async function codeSent() {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = client(user.token);
    const registered = await app.register(phone.national);
    return { user, phone, app, registered, sent: lastCodeFor(t.messagesFile, phone.e164) };
  }

  it('sends a code, links on verify, and shows the link', async () => {
    const user = newPartnerUser({ walletAddress: '0x4C5874998bE398BD7EA29bBb21FFf7506aDf639D' });
    const phone = uniquePhone();
    const app = client(user.token);

    const registered = await app.register(phone.national);
    expect(registered.status).toBe(200);
    expect(registered.body).toEqual({
      authCode: expect.stringMatching(/^[1-9]\d{3,14}$/),
      isNewUser: true,
      expiresIn: 300,
      resendAfter: 30,
      attemptsLeft: 5,
      channel: 'sms',
    });

    const sent = lastCodeFor(t.messagesFile, phone.e164);
    expect(sent.authCode).toBe(registered.body.authCode);
    expect(sent.code).toMatch(/^\d{6}$/);
    expect(sent.body).toContain(sent.code);
    expect(sent.body).toContain('5 min');
    expect(sent.body).toContain('Ludo');

    const verified = await app.verify(phone.national, Number(sent.authCode), sent.code);
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({
      message: 'Users linked successfully',
      userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      isNewUser: true,
      verificationToken: expect.any(String),
    });

    const linked = await app.linkedMobileNumber();
    expect(linked.status).toBe(200);
    expect(linked.body).toEqual({
      UserID: user.userId,
      NameSpacedThirdPartyUserID: `${user.clientId}___${user.userId}`,
      WalletAddress: '0x4C5874998bE398BD7EA29bBb21FFf7506aDf639D',
      LinkedPhone: phone.national,
      CountryCode: '+91',
      PhoneUserId: verified.body.userId,
      LinkedAt: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(linked.body.LinkedAt as string))).toBe(false);
  });

  it('answers a repeated verify with the first answer, unchanged, and changes nothing', async () => {
    const { phone, app, sent } = await codeSent();
    const first = await app.verify(phone.national, sent.authCode, sent.code);
    const linksBefore = await t.dataSource.query('SELECT count(*)::int AS n FROM links');
    const again = await app.verify(phone.national, sent.authCode, sent.code);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await t.dataSource.query('SELECT count(*)::int AS n FROM links')).toEqual(linksBefore);
    // ... but not with another code
    const wrong = await app.verify(phone.national, sent.authCode, wrongCode(sent.code));
    expect(wrong.status).toBe(409);
    expect(wrong.body).toMatchObject({ error: 'ACCOUNT_ALREADY_LINKED' });
  });

  it('accepts authCode and otp as numbers or strings, left-padding a numeric otp', async () => {
    const generator = t.app.get(CodeGenerator);
    const spy = jest.spyOn(generator, 'code').mockReturnValueOnce('004217');
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = client(user.token);
    const registered = await app.register(phone.national);
    spy.mockRestore();
    const verified = await app.verify(phone.national, Number(registered.body.authCode), 4217);
    expect(verified.status).toBe(200);
  });

  it('refuses register and verify for an already-linked user, sending nothing', async () => {
    const { phone, app, sent } = await codeSent();
    await app.verify(phone.national, sent.authCode, sent.code);
    const count = sentMessages(t.messagesFile).length;

    for (const number of [phone.national, uniquePhone().national]) {
      const again = await app.register(number);
      expect(again.status).toBe(409);
      expect(again.body).toEqual({
        statusCode: 409,
        error: 'ACCOUNT_ALREADY_LINKED',
        message: expect.any(String),
      });
    }
    expect(sentMessages(t.messagesFile)).toHaveLength(count);
  });

  it('one phone links one user per client, but users of other clients may link it too', async () => {
    const phone = uniquePhone();
    const first = newPartnerUser();
    await client(first.token).register(phone.national);
    const sent = lastCodeFor(t.messagesFile, phone.e164);
    expect(
      (await client(first.token).verify(phone.national, sent.authCode, sent.code)).status,
    ).toBe(200);

    const sameClient = newPartnerUser({ clientId: first.clientId });
    const refused = await client(sameClient.token).register(phone.national);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'PHONE_ALREADY_LINKED' });

    const otherClient = newPartnerUser();
    const registered = await client(otherClient.token).register(phone.national);
    expect(registered.status).toBe(200);
    expect(registered.body.isNewUser).toBe(false);
    const code = lastCodeFor(t.messagesFile, phone.e164);
    const verified = await client(otherClient.token).verify(
      phone.national,
      code.authCode,
      code.code,
    );
    expect(verified.status).toBe(200);
    expect(verified.body.isNewUser).toBe(false);
  });

  it('counts wrong codes 4, 3, 2, 1, 0, then locks — even against the right code', async () => {
    const { phone, app, sent } = await codeSent();
    const left: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.verify(phone.national, sent.authCode, wrongCode(sent.code));
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('INVALID_OTP');
      left.push(res.body.attemptsLeft);
    }
    expect(left).toEqual([4, 3, 2, 1, 0]);
    const locked = await app.verify(phone.national, sent.authCode, sent.code);
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ statusCode: 429, error: 'TOO_MANY_ATTEMPTS' });

    // A new register starts a new challenge.
    t.clock.advance(31);
    const fresh = await app.register(phone.national);
    expect(fresh.status).toBe(200);
    expect(fresh.body.authCode).not.toBe(sent.authCode);
  });

  it('counts exactly 5 attempts when 20 wrong verifies arrive at once', async () => {
    const { phone, app, sent } = await codeSent();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.verify(phone.national, sent.authCode, wrongCode(sent.code)),
      ),
    );
    const invalid = answers.filter((r) => r.body.error === 'INVALID_OTP');
    const locked = answers.filter((r) => r.body.error === 'TOO_MANY_ATTEMPTS');
    expect(invalid.map((r) => r.body.attemptsLeft).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(locked).toHaveLength(15);
    const [row] = await t.dataSource.query(
      `SELECT attempts, status FROM otp_challenges WHERE auth_code = $1`,
      [sent.authCode],
    );
    expect(row).toEqual({ attempts: 5, status: 'locked' });
  });

  it('resend inside the cooldown is refused with Retry-After; after it, a fresh code replaces the old', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = client(user.token);
    const registered = await app.register(phone.national);
    const firstCode = lastCodeFor(t.messagesFile, phone.e164);

    t.clock.advance(10);
    const tooSoon = await app.resend(phone.national);
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.body).toEqual({
      statusCode: 429,
      error: 'RESEND_TOO_SOON',
      message: expect.any(String),
      retryAfter: 20,
    });
    expect(tooSoon.headers['retry-after']).toBe('20');

    // A wrong code before the resend still counts after it.
    await app.verify(phone.national, registered.body.authCode as string, wrongCode(firstCode.code));

    t.clock.advance(20);
    const resent = await app.resend(phone.national, '+91', { authCode: 'ignored-when-wrong' });
    expect(resent.status).toBe(200);
    expect(resent.body.authCode).toBe(registered.body.authCode);
    expect(resent.body.attemptsLeft).toBe(4);
    const secondCode = lastCodeFor(t.messagesFile, phone.e164);
    expect(secondCode.code).not.toBe(firstCode.code);

    const old = await app.verify(
      phone.national,
      registered.body.authCode as string,
      firstCode.code,
    );
    expect(old.status).toBe(400);
    expect(old.body).toMatchObject({ error: 'INVALID_OTP', attemptsLeft: 3 });
    const ok = await app.verify(
      phone.national,
      registered.body.authCode as string,
      secondCode.code,
    );
    expect(ok.status).toBe(200);
  });

  it('a register with a live challenge is a resend (same authCode, cooldown applies)', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = client(user.token);
    const first = await app.register(phone.national);
    const again = await app.register(phone.national);
    expect(again.status).toBe(429);
    expect(again.body.error).toBe('RESEND_TOO_SOON');
    t.clock.advance(30);
    const later = await app.register(phone.national);
    expect(later.status).toBe(200);
    expect(later.body.authCode).toBe(first.body.authCode);
  });

  it('resend without a live challenge starts a new one', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const res = await client(user.token).resend(phone.national);
    expect(res.status).toBe(200);
    expect(lastCodeFor(t.messagesFile, phone.e164).authCode).toBe(res.body.authCode);
  });

  it('an expired code is refused with 410 even when right; a new register starts over', async () => {
    const { phone, app, registered, sent } = await codeSent();
    t.clock.advance(301);
    const expired = await app.verify(phone.national, sent.authCode, sent.code);
    expect(expired.status).toBe(410);
    expect(expired.body).toMatchObject({ statusCode: 410, error: 'OTP_EXPIRED' });
    const fresh = await app.register(phone.national);
    expect(fresh.status).toBe(200);
    expect(fresh.body.authCode).not.toBe(registered.body.authCode);
  });

  it("another user's authCode is not found, and counts nothing", async () => {
    const owner = newPartnerUser();
    const other = newPartnerUser({ clientId: owner.clientId });
    const phone = uniquePhone();
    await client(owner.token).register(phone.national);
    const sent = lastCodeFor(t.messagesFile, phone.e164);
    const res = await client(other.token).verify(phone.national, sent.authCode, sent.code);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'OTP_NOT_FOUND' });
    const wrongPhone = await client(owner.token).verify(
      uniquePhone().national,
      sent.authCode,
      sent.code,
    );
    expect(wrongPhone.body.error).toBe('OTP_NOT_FOUND');
    const ok = await client(owner.token).verify(phone.national, sent.authCode, sent.code);
    expect(ok.status).toBe(200);
  });

  it('two users racing to link one phone: exactly one link and one 409', async () => {
    const phone = uniquePhone();
    const a = newPartnerUser();
    const b = newPartnerUser({ clientId: a.clientId });
    await client(a.token).register(phone.national);
    const codeA = lastCodeFor(t.messagesFile, phone.e164);
    await client(b.token).register(phone.national);
    const codeB = lastCodeFor(t.messagesFile, phone.e164);

    const answers = await Promise.all([
      client(a.token).verify(phone.national, codeA.authCode, codeA.code),
      client(b.token).verify(phone.national, codeB.authCode, codeB.code),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(answers.find((r) => r.status === 409)?.body.error).toBe('PHONE_ALREADY_LINKED');
    const [{ n }] = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM links l JOIN phone_users p ON p.id = l.phone_user_id
        WHERE p.phone_e164 = $1 AND l.client_id = $2`,
      [phone.e164, a.clientId],
    );
    expect(n).toBe(1);
  });

  it('parallel right verifies of one challenge link once and all answer the same', async () => {
    const { phone, app, sent } = await codeSent();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => app.verify(phone.national, sent.authCode, sent.code)),
    );
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(answers.map((r) => JSON.stringify(r.body))).size).toBe(1);
  });

  it('self-service unlink removes the link (audited); the phone can then be linked again', async () => {
    const { user, phone, app, sent: first } = await codeSent();
    expect((await app.verify(phone.national, first.authCode, first.code)).status).toBe(200);

    const unlinked = await app.unlink();
    expect(unlinked.status).toBe(200);
    expect(unlinked.body).toEqual({ message: 'Users unlinked successfully' });
    expect((await app.linkedMobileNumber()).status).toBe(404);
    const again = await app.unlink();
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ statusCode: 404, error: 'RECORD_NOT_FOUND' });
    // The code that made the link is spent, not replayable into a new link.
    expect((await app.verify(phone.national, first.authCode, first.code)).body).toMatchObject({
      error: 'OTP_EXPIRED',
    });

    // The phone is free again within the client: another user of it may link it.
    const other = client(newPartnerUser({ clientId: user.clientId }).token);
    const registered = await other.register(phone.national);
    expect(registered.status).toBe(200);
    expect(registered.body.isNewUser).toBe(false); // the phone identity stayed
    const code = lastCodeFor(t.messagesFile, phone.e164);
    expect((await other.verify(phone.national, code.authCode, code.code)).status).toBe(200);

    const [event] = await t.dataSource.query<Array<{ target_masked: string; ip: string }>>(
      `SELECT target_masked, ip FROM audit_events WHERE event = 'unlinked' AND user_id = $1`,
      [user.userId],
    );
    expect(event).toEqual({
      target_masked: `+91******${phone.national.slice(-3)}`,
      ip: '127.0.0.1',
    });
    expect((await http(t.url, 'DELETE', '/fe/users/account/linked-mobile-number')).status).toBe(
      401,
    );
  });

  it('linked-mobile-number without a link is 404 RECORD_NOT_FOUND', async () => {
    const res = await client(newPartnerUser().token).linkedMobileNumber();
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      statusCode: 404,
      error: 'RECORD_NOT_FOUND',
      message: expect.any(String),
    });
  });

  describe('concurrent linked-mobile-number lookups (batched into one statement)', () => {
    /** Users with a link (and their phones) and users without one. */
    async function someUsers(linkedCount: number, unlinkedCount: number) {
      const linked = [];
      for (let i = 0; i < linkedCount; i++) {
        const { user, phone, app, sent } = await codeSent();
        expect((await app.verify(phone.national, sent.authCode, sent.code)).status).toBe(200);
        linked.push({ user, phone });
      }
      const unlinked = Array.from({ length: unlinkedCount }, () => ({
        user: newPartnerUser(),
        phone: undefined,
      }));
      return [...linked, ...unlinked];
    }

    it('answers each request with its own user’s link, or 404', async () => {
      const users = await someUsers(5, 5);
      // Each user three times, interleaved, all at once.
      const asked = [...users, ...users.slice().reverse(), ...users];
      const answers = await Promise.all(
        asked.map(({ user }) => client(user.token).linkedMobileNumber()),
      );
      answers.forEach((answer, i) => {
        const { user, phone } = asked[i];
        if (phone) {
          expect({
            status: answer.status,
            user: answer.body.UserID,
            phone: answer.body.LinkedPhone,
          }).toEqual({
            status: 200,
            user: user.userId,
            phone: phone.national,
          });
        } else {
          expect({ status: answer.status, error: answer.body.error }).toEqual({
            status: 404,
            error: 'RECORD_NOT_FOUND',
          });
        }
      });
    });

    it('looks up the users asked for in one turn with one statement, in order, repeats included', async () => {
      const users = await someUsers(3, 2);
      const asked = [users[4], users[0], users[1], users[0], users[3], users[2]];
      const sql = t.app.get(Sql);
      const statements = jest.spyOn(sql, 'rows');
      try {
        const found = await Promise.all(
          asked.map(({ user }) =>
            t.app.get(LinkRepository).findLinkedPhone(user.clientId, user.userId),
          ),
        );
        expect(statements).toHaveBeenCalledTimes(1);
        expect(found.map((link) => link?.phoneE164)).toEqual(asked.map(({ phone }) => phone?.e164));
        expect(found.map((link) => link?.userId)).toEqual(
          asked.map(({ user, phone }) => (phone ? user.userId : undefined)),
        );
      } finally {
        statements.mockRestore();
      }
    });
  });

  it('records the deliveries that end in one turn with one statement, each only if its attempt is current', async () => {
    const outbox = t.app.get(OutboxService);
    const now = t.clock.now();
    const messages = [0, 1, 2, 3].map((i) => ({
      channel: 'sms' as const,
      to: uniquePhone().e164,
      body: `code ${i}`,
      code: `00000${i}`,
      authCode: `1000${i}`,
      expiresAt: new Date(now.getTime() + 300_000),
      audit: { clientId: 'batch-client', userId: `batch-user-${i}`, ip: '127.0.0.1' },
    }));
    // Queued as after a register (attempt 1, leased); the last one was claimed again meanwhile
    // (attempt 2), so the inline attempt's outcome is stale for it.
    const ids: string[] = [];
    for (const [i, message] of messages.entries()) {
      const prepared = outbox.prepare(message);
      const [row] = await t.dataSource.query<Array<{ id: string }>>(
        `INSERT INTO outbox_messages
           (channel, recipient, payload, status, attempts, next_attempt_at, expires_at, audit, created_at)
         VALUES ('sms', $1, $2, 'pending', $3, $4, $5, $6, $7) RETURNING id`,
        [
          message.to,
          prepared.payload,
          i === 3 ? 2 : 1,
          prepared.leaseUntil,
          message.expiresAt,
          message.audit,
          now,
        ],
      );
      ids.push(row.id);
    }
    // The provider accepts at once, so all four attempts end in the same turn of the event loop.
    const send = jest.spyOn(t.app.get(Notifiers).for('sms'), 'send').mockResolvedValue({});
    const statements = jest.spyOn(t.app.get(Sql), 'rows');
    try {
      const outcomes = await Promise.all(ids.map((id, i) => outbox.deliverNow(id, messages[i])));
      expect(outcomes).toEqual(ids.map(() => ({ status: 'sent', channel: 'sms' })));
      const finishes = statements.mock.calls.filter(([query]) =>
        query.text.includes('UPDATE outbox_messages m'),
      );
      expect(finishes).toHaveLength(1);
    } finally {
      send.mockRestore();
      statements.mockRestore();
    }
    const rows = await t.dataSource.query<
      Array<{ id: string; status: string; payload: Buffer | null }>
    >(`SELECT id, status, payload FROM outbox_messages WHERE id = ANY($1::uuid[])`, [ids]);
    const statusOf = new Map(rows.map((row) => [row.id, [row.status, row.payload === null]]));
    expect(ids.map((id) => statusOf.get(id))).toEqual([
      ['sent', true],
      ['sent', true],
      ['sent', true],
      ['pending', false],
    ]);
    const events = await t.dataSource.query<Array<{ user_id: string; event: string }>>(
      `SELECT user_id, event FROM audit_events WHERE client_id = 'batch-client' ORDER BY user_id`,
    );
    expect(events).toEqual([0, 1, 2].map((i) => ({ user_id: `batch-user-${i}`, event: 'sent' })));
  });

  it('writes the audit trail with masked phones only', async () => {
    const { user, phone, app, sent } = await codeSent();
    await app.verify(phone.national, sent.authCode, wrongCode(sent.code));
    await app.verify(phone.national, sent.authCode, sent.code);
    const events = await t.dataSource.query<
      Array<{ event: string; target_masked: string; ip: string }>
    >(
      `SELECT event, target_masked, ip FROM audit_events WHERE client_id = $1 AND user_id = $2 ORDER BY id`,
      [user.clientId, user.userId],
    );
    expect(events.map((e) => e.event)).toEqual([
      'requested',
      'sent',
      'verify_failed',
      'verified',
      'linked',
    ]);
    for (const event of events) {
      expect(event.target_masked).toBe(`+91******${phone.national.slice(-3)}`);
      expect(event.ip).toBe('127.0.0.1');
    }
  });

  it('keeps no plaintext code in the database, and wipes the message once delivered', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    await client(user.token).register(phone.national);
    const sent = lastCodeFor(t.messagesFile, phone.e164);
    const [message] = await t.dataSource.query(
      `SELECT status, payload FROM outbox_messages WHERE recipient = $1`,
      [phone.e164],
    );
    expect(message).toEqual({ status: 'sent', payload: null });
    const dump = await t.dataSource.query<Array<{ row: string }>>(
      `SELECT row_to_json(c)::text AS row FROM otp_challenges c WHERE auth_code = $1`,
      [sent.authCode],
    );
    expect(dump).toHaveLength(1);
    expect(dump[0].row).not.toContain(sent.code);
  });

  it('never logs a code, a token or a full phone number', async () => {
    const { user, phone, app, sent } = await codeSent();
    await app.verify(phone.national, sent.authCode, wrongCode(sent.code));
    await app.verify(phone.national, sent.authCode, sent.code);
    const logs = t.logs.join('\n');
    expect(logs).toContain('"route":"/fe/users/auth/otp/verify"'); // the capture works
    expect(logs).not.toContain(sent.code);
    expect(logs).not.toContain(user.token);
    expect(logs).not.toContain(user.token.split('.')[2]);
    expect(logs).not.toContain(phone.national);
  });

  /** The challenge of (user, phone) as stored. */
  async function storedChallenge(user: { clientId: string; userId: string }, e164: string) {
    const [row] = await t.dataSource.query<
      Array<{ id: string; code_hash: Buffer; send_count: number; status: string; attempts: number }>
    >(
      `SELECT id, code_hash, send_count, status, attempts FROM otp_challenges
        WHERE client_id = $1 AND user_id = $2 AND target = $3 ORDER BY created_at LIMIT 1`,
      [user.clientId, user.userId, e164],
    );
    // PGlite hands bytea back as a Uint8Array.
    return { ...row, code_hash: Buffer.from(row.code_hash) };
  }

  // A verify reads the challenge, compares the code, then writes: a resend committing in between
  // must not let the replaced code through (the functions act only on the hash that was matched).
  it('a code replaced by a resend is refused even by a verify that read it before the resend', async () => {
    const { user, phone, app, sent } = await codeSent();
    const before = await storedChallenge(user, phone.e164);
    t.clock.advance(30);
    expect((await app.resend(phone.national)).status).toBe(200);
    const after = await storedChallenge(user, phone.e164);
    expect(after.code_hash.equals(before.code_hash)).toBe(false);

    // The engine's two writes, given the (stale) code hash the caller matched.
    const stale = jsonArgs({
      challengeId: before.id,
      codeHash: before.code_hash,
      target: phone.e164,
      now: t.clock.now(),
      maxAttempts: 5,
      maxFailures: 10,
    });
    const [marked] = await t.dataSource.query<Array<{ marked: boolean }>>(
      `SELECT otp_mark_verified(p_args => $1) AS marked`,
      [stale],
    );
    expect(marked.marked).toBe(false);
    const [counted] = await t.dataSource.query<Array<{ outcome: string }>>(
      `SELECT outcome FROM otp_count_wrong_code(p_args => $1)`,
      [stale],
    );
    expect(counted.outcome).toBe('changed');
    expect(await storedChallenge(user, phone.e164)).toMatchObject({
      status: 'pending',
      attempts: 0,
    });

    expect((await app.verify(phone.national, sent.authCode, sent.code)).status).toBe(400);
    const resentCode = lastCodeFor(t.messagesFile, phone.e164).code;
    expect((await app.verify(phone.national, sent.authCode, resentCode)).status).toBe(200);
  });

  // Two sessions are needed: the embedded database has one.
  (e2eDatabase() === 'embedded' ? it.skip : it)(
    'a resend waiting on a challenge that a verify finishes leaves it alone and starts a new one',
    async () => {
      const { user, phone, app } = await codeSent();
      const challenge = await storedChallenge(user, phone.e164);
      t.clock.advance(30);

      // The "verify" holds the challenge's row until the resend is waiting for it.
      const verify = t.dataSource.createQueryRunner();
      await verify.connect();
      await verify.startTransaction();
      try {
        await verify.query(`UPDATE otp_challenges SET status = 'verified' WHERE id = $1`, [
          challenge.id,
        ]);
        const resend = app.resend(phone.national);
        await eventually(async () => {
          const [{ waiting }] = await t.dataSource.query<Array<{ waiting: number }>>(
            `SELECT count(*)::int AS waiting FROM pg_locks l JOIN pg_stat_activity a USING (pid)
              WHERE a.datname = current_database() AND l.locktype = 'transactionid'
                AND NOT l.granted`,
          );
          return waiting > 0;
        });
        await verify.commitTransaction();

        const resent = await resend;
        expect(resent.status).toBe(200);
        const finished = await storedChallenge(user, phone.e164);
        expect(finished).toMatchObject({ id: challenge.id, status: 'verified', send_count: 1 });
        expect(finished.code_hash.equals(challenge.code_hash)).toBe(true);
        const [{ live }] = await t.dataSource.query<Array<{ live: number }>>(
          `SELECT count(*)::int AS live FROM otp_challenges
            WHERE client_id = $1 AND user_id = $2 AND status = 'pending'`,
          [user.clientId, user.userId],
        );
        expect(live).toBe(1);
        expect(sentMessages(t.messagesFile).filter((m) => m.to === phone.e164)).toHaveLength(2);
      } finally {
        if (verify.isTransactionActive) await verify.rollbackTransaction();
        await verify.release();
      }
    },
  );
});
