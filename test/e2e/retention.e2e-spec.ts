import { OutboxService } from '@app/notifications';
import { OtpRetentionJob } from '@app/otp';
import { LinkProbeRetentionJob } from '@app/users';
import { startTestApp, TestApp } from '../support/test-app';
import { lastCodeFor, OtpClient, uniquePhone, wrongCode } from '../support/otp-client';
import { newPartnerUser } from '../support/tokens';

const HOUR = 3600;

async function count(t: TestApp, table: string): Promise<number> {
  const [{ n }] = await t.dataSource.query<Array<{ n: number }>>(
    `SELECT count(*)::int AS n FROM ${table}`,
  );
  return n;
}

describe('retention: tables do not grow without end', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('purges old sends, failures, unverified challenges and finished messages, keeping what is live', async () => {
    // One linked user (its verified challenge must stay) and one abandoned challenge with a failure.
    const linked = newPartnerUser({}, { expiresInSeconds: 10 * 24 * HOUR });
    const linkedPhone = uniquePhone();
    await new OtpClient(t, linked.token).register(linkedPhone.national);
    const sent = lastCodeFor(t.messagesFile, linkedPhone.e164);
    const linkedClient = new OtpClient(t, linked.token);
    expect((await linkedClient.verify(linkedPhone.national, sent.authCode, sent.code)).status).toBe(
      200,
    );

    const abandoned = new OtpClient(
      t,
      newPartnerUser({}, { expiresInSeconds: 10 * 24 * HOUR }).token,
    );
    const abandonedPhone = uniquePhone();
    await abandoned.register(abandonedPhone.national);
    const code = lastCodeFor(t.messagesFile, abandonedPhone.e164);
    await abandoned.verify(abandonedPhone.national, code.authCode, wrongCode(code.code));

    const job = t.app.get(OtpRetentionJob);
    const outbox = t.app.get(OutboxService);
    expect(await job.purgeOnce()).toBe(false);
    expect(await count(t, 'otp_sends')).toBe(2); // still inside the limits' window
    expect(await count(t, 'otp_verify_failures')).toBe(1);
    const counters = await count(t, 'otp_send_counts');
    expect(counters).toBeGreaterThanOrEqual(2); // the service's and the clients' budgets

    t.clock.advance(2 * HOUR + 1);
    await job.purgeOnce();
    expect(await count(t, 'otp_sends')).toBe(0);
    expect(await count(t, 'otp_verify_failures')).toBe(0);
    expect(await count(t, 'otp_send_counts')).toBe(0);
    expect(await count(t, 'otp_challenges')).toBe(2); // not yet a day past expiry

    t.clock.advance(24 * HOUR);
    await job.purgeOnce();
    const left = await t.dataSource.query(`SELECT status FROM otp_challenges`);
    expect(left).toEqual([{ status: 'verified' }]); // the linked one answers repeated verifies

    const repeat = await linkedClient.verify(linkedPhone.national, sent.authCode, sent.code);
    expect(repeat.status).toBe(200);

    expect(await count(t, 'outbox_messages')).toBe(2);
    expect(await outbox.purgeFinished(7 * 24 * HOUR * 1000)).toBe(false);
    expect(await count(t, 'outbox_messages')).toBe(2); // sent a day ago: kept a week
    t.clock.advance(7 * 24 * HOUR);
    await outbox.purgeFinished(7 * 24 * HOUR * 1000);
    expect(await count(t, 'outbox_messages')).toBe(0);
  });

  it("purges link probes once they are past the probe budgets' window", async () => {
    const clientId = `client-${Date.now()}`;
    const owner = newPartnerUser({ clientId }, { expiresInSeconds: 10 * 24 * HOUR });
    const prober = newPartnerUser({ clientId }, { expiresInSeconds: 10 * 24 * HOUR });
    const phone = uniquePhone();
    const ownerClient = new OtpClient(t, owner.token);
    await ownerClient.register(phone.national);
    const sent = lastCodeFor(t.messagesFile, phone.e164);
    expect((await ownerClient.verify(phone.national, sent.authCode, sent.code)).status).toBe(200);
    const probe = await new OtpClient(t, prober.token).register(phone.national);
    expect(probe.body.error).toBe('PHONE_ALREADY_LINKED');
    expect(await count(t, 'link_probes')).toBe(1);

    const job = t.app.get(LinkProbeRetentionJob);
    expect(await job.purgeOnce()).toBe(false);
    expect(await count(t, 'link_probes')).toBe(1); // still inside the budgets' hour
    t.clock.advance(2 * HOUR + 1);
    await job.purgeOnce();
    expect(await count(t, 'link_probes')).toBe(0);
  });

  it("folds a closed bucket's counter rows into one, every sum unchanged", async () => {
    const scope = `client:fold-${Date.now()}`;
    const now = t.clock.now();
    const closed = new Date(now.getTime() - 10 * 60_000);
    // Eight rows of a bucket that closed, and one of the bucket writes go to now.
    await t.dataSource.query(
      `INSERT INTO otp_send_counts (scope, bucket, shard, sends, verified)
       SELECT $1, otp_send_bucket($2), s, s + 1, s FROM generate_series(0, 7) s
       UNION ALL SELECT $1, otp_send_bucket($3), 3, 5, 1`,
      [scope, closed, now],
    );
    const rows = () =>
      t.dataSource.query<
        Array<{ closed: boolean; shard: number; sends: number; verified: number }>
      >(
        `SELECT bucket < otp_send_bucket($2) AS closed, shard, sends, verified
           FROM otp_send_counts WHERE scope = $1 ORDER BY bucket, shard`,
        [scope, now],
      );

    await t.app.get(OtpRetentionJob).purgeOnce();

    expect(await rows()).toEqual([
      { closed: true, shard: 0, sends: 36, verified: 28 },
      { closed: false, shard: 3, sends: 5, verified: 1 },
    ]);
  });

  it('never purges a pending message', async () => {
    await t.dataSource.query(
      `INSERT INTO outbox_messages (channel, recipient, payload, status, next_attempt_at, expires_at, created_at)
       VALUES ('sms', '+919000000000', '\\x00', 'pending', now(), now(), now() - interval '30 days')`,
    );
    await t.app.get(OutboxService).purgeFinished(1000);
    const [{ n }] = await t.dataSource.query(
      `SELECT count(*)::int AS n FROM outbox_messages WHERE status = 'pending'`,
    );
    expect(n).toBe(1);
  });
});
