import { DataSource } from 'typeorm';
import { loadConfig } from '@app/config';
import { createDataSource, openEmbeddedDatabase, Sql } from '@app/database';
import { SCHEMA } from '@app/migrations';
import {
  newOpaqueToken,
  REFRESH_TOKEN_RETENTION_MS,
  SESSION_RETENTION_MS,
  SessionRetentionJob,
  SessionStore,
  StartedSession,
  tokenHash,
} from '@app/sessions';
import { MovableClock } from '../support/movable-clock';
import { createTestDatabase, e2eDatabase } from '../support/test-database';

const CONFIG = loadConfig({});
const GRACE = CONFIG.sessions.refreshReuseGraceSeconds;
const TTL = CONFIG.sessions.refreshTokenTtlSeconds;

/**
 * libs/sessions against the database: sessions, refresh-token families (rotation, reuse, the
 * grace window), revocation and retention. On PostgreSQL, "two instances" are two data sources
 * (two pools) on one database; the embedded database has one session, so its concurrency is
 * the calls of one instance interleaving.
 */
describe('sessions', () => {
  let dataSource: DataSource;
  let other: DataSource;
  let close: () => Promise<void>;
  let clock: MovableClock;
  let store: SessionStore;
  let otherStore: SessionStore;
  let phoneUser: string;
  let secondPhoneUser: string;

  // One database for the file (an embedded one takes seconds to open); each test starts with
  // no sessions.
  beforeAll(async () => {
    if (e2eDatabase() === 'embedded') {
      const embedded = await openEmbeddedDatabase('memory://');
      dataSource = createDataSource({ dataDir: 'memory://', poolSize: 1 }, SCHEMA, embedded.driver);
      await dataSource.initialize();
      other = dataSource;
      close = () => dataSource.destroy();
    } else {
      const database = await createTestDatabase();
      const open = async () => {
        const source = createDataSource(
          { url: database.env.DATABASE_URL, dataDir: '', poolSize: 4 },
          SCHEMA,
        );
        return source.initialize();
      };
      dataSource = await open();
      other = await open();
      close = async () => {
        await dataSource.destroy();
        await other.destroy();
        await database.drop();
      };
    }
    for (const id of ['app-one', 'app-two']) {
      await dataSource.query(
        `INSERT INTO partner_clients (id, name, api_secret_hash) VALUES ($1, $1, '\\x00')`,
        [id],
      );
    }
    const users = await dataSource.query<Array<{ id: string }>>(
      `INSERT INTO phone_users (phone_e164) VALUES ('+919876543219'), ('+919876543218')
       RETURNING id`,
    );
    [phoneUser, secondPhoneUser] = users.map((row) => row.id);
  });

  afterAll(() => close());

  beforeEach(async () => {
    await dataSource.query(`TRUNCATE app_sessions, session_refresh_tokens`);
    clock = new MovableClock();
    store = new SessionStore(new Sql(dataSource), CONFIG, clock);
    otherStore = new SessionStore(new Sql(other), CONFIG, clock);
  });

  const signIn = (clientId = 'app-one', user = phoneUser) =>
    store.start({ clientId, phoneUserId: user });
  const refresh = (session: StartedSession, refreshToken = session.refreshToken) =>
    store.refresh({
      refreshToken,
      deviceToken: session.deviceToken,
      sessionId: session.sessionId,
    });
  const active = async (sessionId: string) => (await store.state(sessionId))?.active;

  it('starts a session with opaque tokens stored only as hashes', async () => {
    const session = await signIn();
    expect(session.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.deviceToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.refreshToken).not.toBe(session.deviceToken);
    expect(await store.state(session.sessionId)).toEqual({
      sessionId: session.sessionId,
      clientId: 'app-one',
      phoneUserId: phoneUser,
      createdAt: expect.any(Date) as Date,
      active: true,
      endReason: null,
    });
    const [row] = await dataSource.query<Array<{ device_hash: Buffer; token_hash: Buffer }>>(
      `SELECT s.device_hash, t.token_hash FROM app_sessions s
         JOIN session_refresh_tokens t ON t.session_id = s.id`,
    );
    expect(Buffer.from(row.device_hash).equals(tokenHash(session.deviceToken))).toBe(true);
    expect(Buffer.from(row.token_hash).equals(tokenHash(session.refreshToken))).toBe(true);
    const dump = JSON.stringify(
      await dataSource.query(
        `SELECT s.*, t.* FROM app_sessions s JOIN session_refresh_tokens t ON t.session_id = s.id`,
      ),
    );
    expect(dump).not.toContain(session.refreshToken);
    expect(dump).not.toContain(session.deviceToken);
  });

  it('refuses a session for an unknown client or phone identity', async () => {
    await expect(signIn('no-such-app')).rejects.toThrow();
    await expect(signIn('app-one', '00000000-0000-4000-8000-000000000000')).rejects.toThrow();
  });

  it('rotates: each refresh token works once, and the next one works', async () => {
    const session = await signIn();
    const first = await refresh(session);
    expect(first).toMatchObject({
      outcome: 'rotated',
      sessionId: session.sessionId,
      clientId: 'app-one',
      phoneUserId: phoneUser,
      generation: 2,
    });
    if (first.outcome !== 'rotated') throw new Error('not rotated');
    expect(first.refreshToken).not.toBe(session.refreshToken);
    const second = await refresh(session, first.refreshToken);
    expect(second).toMatchObject({ outcome: 'rotated', generation: 3 });
    expect(await active(session.sessionId)).toBe(true);
  });

  it('answers the same successor to a repeat within the grace window', async () => {
    const session = await signIn();
    const first = await store.refresh({
      refreshToken: session.refreshToken,
      deviceToken: session.deviceToken,
      sessionId: session.sessionId,
      attachment: 'access-token-one',
    });
    clock.advance(GRACE - 1);
    const again = await store.refresh({
      refreshToken: session.refreshToken,
      deviceToken: session.deviceToken,
      sessionId: session.sessionId,
      attachment: 'access-token-two',
    });
    expect(first).toMatchObject({ outcome: 'rotated', attachment: 'access-token-one' });
    expect(again).toMatchObject({ outcome: 'repeated', attachment: 'access-token-one' });
    if (first.outcome !== 'rotated' || again.outcome !== 'repeated') throw new Error('refused');
    expect(again.refreshToken).toBe(first.refreshToken);
    expect(again.generation).toBe(first.generation);
    // The repeat made nothing new: the family has two tokens, and the successor still works.
    const [{ count }] = await dataSource.query<Array<{ count: number }>>(
      `SELECT count(*)::int AS count FROM session_refresh_tokens`,
    );
    expect(count).toBe(2);
    expect(await refresh(session, first.refreshToken)).toMatchObject({ outcome: 'rotated' });
  });

  it('a used refresh token presented after the grace window ends the whole session', async () => {
    const session = await signIn();
    const first = await refresh(session);
    if (first.outcome !== 'rotated') throw new Error('not rotated');
    clock.advance(GRACE + 1);
    expect(await refresh(session)).toEqual({ outcome: 'reused', sessionId: session.sessionId });
    expect(await store.state(session.sessionId)).toMatchObject({
      active: false,
      endReason: 'refresh_reuse',
    });
    // Every token of the family is dead now: the successor, and the old one again.
    expect(await refresh(session, first.refreshToken)).toEqual({ outcome: 'ended' });
    expect(await refresh(session)).toEqual({ outcome: 'ended' });
  });

  it('two instances refreshing one token at once: one rotation, the same pair to every caller', async () => {
    const session = await signIn();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? store : otherStore).refresh({
          refreshToken: session.refreshToken,
          deviceToken: session.deviceToken,
          sessionId: session.sessionId,
          attachment: `access-${i}`,
        }),
      ),
    );
    const outcomes = results.map((result) => result.outcome).sort();
    expect(outcomes.filter((outcome) => outcome === 'rotated')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'repeated')).toHaveLength(9);
    const pairs = new Set(
      results.map((result) =>
        result.outcome === 'rotated' || result.outcome === 'repeated'
          ? `${result.refreshToken}|${result.attachment}`
          : result.outcome,
      ),
    );
    expect(pairs.size).toBe(1);
    const [{ count }] = await dataSource.query<Array<{ count: number }>>(
      `SELECT count(*)::int AS count FROM session_refresh_tokens`,
    );
    expect(count).toBe(2);
  });

  it('two instances presenting a reused token at once: the session ends once', async () => {
    const session = await signIn();
    await refresh(session);
    clock.advance(GRACE + 1);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 === 0 ? store : otherStore).refresh({
          refreshToken: session.refreshToken,
          deviceToken: session.deviceToken,
          sessionId: session.sessionId,
        }),
      ),
    );
    const outcomes = results.map((result) => result.outcome).sort();
    expect(outcomes).toEqual(['ended', 'ended', 'ended', 'ended', 'ended', 'reused']);
    expect(await store.state(session.sessionId)).toMatchObject({ endReason: 'refresh_reuse' });
  });

  it("refuses another device's or another session's refresh, and changes nothing", async () => {
    const session = await signIn();
    const another = await signIn();
    expect(
      await store.refresh({
        refreshToken: session.refreshToken,
        deviceToken: another.deviceToken,
        sessionId: session.sessionId,
      }),
    ).toEqual({ outcome: 'mismatch' });
    expect(
      await store.refresh({
        refreshToken: session.refreshToken,
        deviceToken: session.deviceToken,
        sessionId: another.sessionId,
      }),
    ).toEqual({ outcome: 'mismatch' });
    expect(await refresh(session)).toMatchObject({ outcome: 'rotated', generation: 2 });
    expect(await active(another.sessionId)).toBe(true);
  });

  it("a used refresh token ends the session after the grace even with another device's token", async () => {
    const session = await signIn();
    const another = await signIn();
    await refresh(session);
    // Within the grace, a repeat from another device or session is refused and changes nothing.
    const fromElsewhere = { refreshToken: session.refreshToken, deviceToken: another.deviceToken };
    expect(await store.refresh({ ...fromElsewhere, sessionId: session.sessionId })).toEqual({
      outcome: 'mismatch',
    });
    expect(await active(session.sessionId)).toBe(true);
    clock.advance(GRACE + 1);
    expect(await store.refresh({ ...fromElsewhere, sessionId: another.sessionId })).toEqual({
      outcome: 'reused',
      sessionId: session.sessionId,
    });
    expect(await store.state(session.sessionId)).toMatchObject({
      active: false,
      endReason: 'refresh_reuse',
    });
    expect(await active(another.sessionId)).toBe(true);
  });

  it('refuses unknown, malformed and hostile tokens without touching a session', async () => {
    const session = await signIn();
    const hostile = [
      '',
      'x',
      newOpaqueToken(),
      `${session.refreshToken}x`,
      "' OR 1=1 --",
      'a'.repeat(10_000),
      '\u0000'.repeat(43),
      5 as unknown as string,
      null as unknown as string,
      { $ne: null } as unknown as string,
    ];
    for (const refreshToken of hostile) {
      expect(
        await store.refresh({ refreshToken, deviceToken: session.deviceToken, sessionId: null }),
      ).toEqual({ outcome: 'unknown' });
    }
    for (const deviceToken of ['', "' OR 1=1 --", 7 as unknown as string]) {
      expect(await store.refresh({ refreshToken: session.refreshToken, deviceToken })).toEqual({
        outcome: 'mismatch',
      });
    }
    expect(
      await store.refresh({
        refreshToken: session.refreshToken,
        deviceToken: session.deviceToken,
        sessionId: 'not-a-uuid',
      }),
    ).toEqual({ outcome: 'mismatch' });
    for (const id of ['', 'not-a-uuid', "' OR 1=1 --", '00000000-0000-4000-8000-000000000000']) {
      expect(await store.state(id)).toBeUndefined();
      expect(await store.end({ sessionId: id, reason: 'revoked_session' })).toBe(0);
    }
    // Without a sid (the access token is not asked for): the device token still binds it.
    expect(
      await store.refresh({ refreshToken: session.refreshToken, deviceToken: session.deviceToken }),
    ).toMatchObject({ outcome: 'rotated' });
  });

  it('refuses an expired refresh token, and a session past its last expiry is inactive', async () => {
    const session = await signIn();
    clock.advance(TTL + 1);
    expect(await refresh(session)).toEqual({ outcome: 'expired' });
    expect(await active(session.sessionId)).toBe(false);
  });

  it('each rotation gives the session the whole refresh lifetime again', async () => {
    const session = await signIn();
    clock.advance(TTL - 60);
    const next = await refresh(session);
    if (next.outcome !== 'rotated') throw new Error('not rotated');
    clock.advance(120);
    expect(await active(session.sessionId)).toBe(true);
    expect(await refresh(session, next.refreshToken)).toMatchObject({ outcome: 'rotated' });
  });

  it('logout ends one session of its client, at once for every instance', async () => {
    const session = await signIn();
    const kept = await signIn();
    expect(
      await store.end({ sessionId: session.sessionId, clientId: 'app-two', reason: 'logout' }),
    ).toBe(0);
    expect(
      await store.end({ sessionId: session.sessionId, clientId: 'app-one', reason: 'logout' }),
    ).toBe(1);
    expect(await otherStore.state(session.sessionId)).toMatchObject({
      active: false,
      endReason: 'logout',
    });
    expect(
      await otherStore.refresh({
        refreshToken: session.refreshToken,
        deviceToken: session.deviceToken,
      }),
    ).toEqual({ outcome: 'ended' });
    // Ending it again counts nothing and keeps the first reason.
    expect(await store.end({ sessionId: session.sessionId, reason: 'revoked_session' })).toBe(0);
    expect(await store.state(session.sessionId)).toMatchObject({ endReason: 'logout' });
    expect(await active(kept.sessionId)).toBe(true);
  });

  it('revokes by phone identity (of one client or all) and by client', async () => {
    const oneA = await signIn('app-one', phoneUser);
    const oneB = await signIn('app-one', phoneUser);
    const twoA = await signIn('app-two', phoneUser);
    const oneSecond = await signIn('app-one', secondPhoneUser);
    const twoSecond = await signIn('app-two', secondPhoneUser);

    expect(
      await store.end({ phoneUserId: phoneUser, clientId: 'app-one', reason: 'revoked_user' }),
    ).toBe(2);
    expect(await active(oneA.sessionId)).toBe(false);
    expect(await active(oneB.sessionId)).toBe(false);
    expect(await active(twoA.sessionId)).toBe(true);

    expect(await store.end({ phoneUserId: phoneUser, reason: 'revoked_user' })).toBe(1);
    expect(await active(twoA.sessionId)).toBe(false);
    expect(await active(oneSecond.sessionId)).toBe(true);

    expect(await store.end({ clientId: 'app-two', reason: 'revoked_client' })).toBe(1);
    expect(await store.state(twoSecond.sessionId)).toMatchObject({
      active: false,
      endReason: 'revoked_client',
    });
    expect(await active(oneSecond.sessionId)).toBe(true);
    await expect(store.end({ reason: 'revoked_client' })).rejects.toThrow(/needs a session/);
  });

  it('retention deletes sessions a week after they ended or expired, and old refresh tokens', async () => {
    const ended = await signIn();
    const live = await signIn();
    const expiring = await signIn();
    await store.end({ sessionId: ended.sessionId, reason: 'logout' });
    const rotated = await refresh(live);
    if (rotated.outcome !== 'rotated') throw new Error('not rotated');
    const job = new SessionRetentionJob(dataSource, clock);

    clock.advance(SESSION_RETENTION_MS / 1000 - 60);
    expect(await job.purgeOnce()).toBe(false);
    expect(await store.state(ended.sessionId)).toBeDefined();

    clock.advance(120);
    // The live session keeps going: rotate it near its own expiry, the expiring one not.
    await job.purgeOnce();
    expect(await store.state(ended.sessionId)).toBeUndefined();
    expect(await store.state(live.sessionId)).toBeDefined();
    expect(await store.state(expiring.sessionId)).toBeDefined();

    clock.advance(TTL - SESSION_RETENTION_MS / 1000 - 120);
    const again = await refresh(live, rotated.refreshToken);
    expect(again).toMatchObject({ outcome: 'rotated' });
    clock.advance(REFRESH_TOKEN_RETENTION_MS / 1000 + SESSION_RETENTION_MS / 1000 + 120);
    await job.purgeOnce();
    expect(await store.state(expiring.sessionId)).toBeUndefined();
    expect(await store.state(live.sessionId)).toBeDefined();
    // Of the live session's family only the newest token is left.
    const tokens = await dataSource.query<Array<{ generation: number }>>(
      `SELECT generation FROM session_refresh_tokens ORDER BY generation`,
    );
    expect(tokens).toEqual([{ generation: 3 }]);
  });
});
