import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '@app/config';
import type { DatabaseNotifications, NotificationSubscriber } from '@app/database';
import { PARTNER_CACHE_MAX, PartnerDirectory } from './partner-directory';
import { PartnerKeyBox } from './partner-key-box';

const SECRET = 'directory-test-secret-0123456789abcdef';

/** A database that answers client lookups from `rows`, one query at a time, when released. */
class FakeDatabase {
  rows = new Map<string, Record<string, unknown>>();
  queries: string[] = [];
  private waiting: Array<() => void> = [];
  held = false;

  query = (_sql: string, [id]: [string]) => {
    this.queries.push(id);
    const answer = () => (this.rows.has(id) ? [this.rows.get(id)] : []);
    if (!this.held) return Promise.resolve(answer());
    return new Promise((resolve) => this.waiting.push(() => resolve(answer())));
  };

  release(): void {
    this.held = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

function clientRow(id: string, status = 'active') {
  const box = new PartnerKeyBox(SECRET);
  return {
    id,
    name: 'Ludo',
    status,
    allowed_country_codes: null,
    hourly_send_budget: null,
    sender_name: null,
    message_template: null,
    api_secret_hash: Buffer.alloc(32),
    keys: [
      {
        kid: 'k1',
        algorithm: 'HS256',
        status: 'active',
        secret: box.seal('the-secret', id, 'k1').toString('base64'),
        pem: null,
      },
      { kid: 'k0', algorithm: 'HS256', status: 'retired', secret: 'AA==', pem: null },
      // Sealed for another client: refused, and the rest of the client still loads.
      {
        kid: 'k2',
        algorithm: 'HS256',
        status: 'active',
        secret: box.seal('moved', 'other', 'k2').toString('base64'),
        pem: null,
      },
    ],
  };
}

describe('PartnerDirectory', () => {
  let database: FakeDatabase;
  let subscriber: NotificationSubscriber;
  let directory: PartnerDirectory;

  // A key sealed for another client is logged as an error on purpose; keep the output clean.
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']);
  });

  beforeEach(async () => {
    database = new FakeDatabase();
    const notifications = {
      subscribe: async (_channel: string, s: NotificationSubscriber) => {
        subscriber = s;
      },
    } as unknown as DatabaseNotifications;
    directory = new PartnerDirectory(database as unknown as DataSource, notifications, {
      otp: { secret: SECRET },
    } as AppConfig);
    await directory.onApplicationBootstrap();
  });

  it('loads a client once, with its active keys opened and its retired kids', async () => {
    database.rows.set('c1', clientRow('c1'));
    const found = await directory.find('c1');
    expect(found).toMatchObject({ id: 'c1', status: 'active' });
    expect(found?.keys.map((k) => k.kid)).toEqual(['k1']);
    expect(found?.keys[0].key.export().toString()).toBe('the-secret');
    expect([...(found?.retiredKids ?? [])]).toEqual(['k0']);
    await directory.find('c1');
    expect(database.queries).toEqual(['c1']);
  });

  it('remembers that a client is not registered', async () => {
    expect(await directory.find('nobody')).toBeUndefined();
    expect(await directory.find('nobody')).toBeUndefined();
    expect(database.queries).toEqual(['nobody']);
  });

  it('keeps its clients while a flood of unregistered ids passes through', async () => {
    database.rows.set('c1', clientRow('c1'));
    await directory.find('c1');
    for (let i = 0; i <= PARTNER_CACHE_MAX; i++) await directory.find(`nobody-${i}`);
    database.queries = [];
    expect((await directory.find('c1'))?.id).toBe('c1');
    expect(database.queries).toEqual([]);
    // The unregistered ones are bounded: the oldest was pushed out and is asked again.
    expect(await directory.find('nobody-0')).toBeUndefined();
    expect(database.queries).toEqual(['nobody-0']);
  });

  it('shares one query among concurrent lookups of an uncached client', async () => {
    database.rows.set('c1', clientRow('c1'));
    database.held = true;
    const lookups = Promise.all([directory.find('c1'), directory.find('c1'), directory.find('c1')]);
    database.release();
    expect((await lookups).map((c) => c?.id)).toEqual(['c1', 'c1', 'c1']);
    expect(database.queries).toEqual(['c1']);
  });

  it('reloads a client the database announced a change of', async () => {
    database.rows.set('c1', clientRow('c1'));
    await directory.find('c1');
    database.rows.set('c1', clientRow('c1', 'suspended'));
    subscriber.onMessage('c1');
    expect((await directory.find('c1'))?.status).toBe('suspended');
    expect(database.queries).toEqual(['c1', 'c1']);
  });

  it('does not cache a load that a change overtook', async () => {
    database.rows.set('c1', clientRow('c1'));
    database.held = true;
    const stale = directory.find('c1'); // reads before the change commits...
    subscriber.onMessage('c1'); // ...the change is announced while it is in flight
    database.rows.set('c1', clientRow('c1', 'suspended'));
    database.release();
    expect((await stale)?.status).toBe('suspended'); // the fake answers at release time
    database.rows.set('c1', clientRow('c1', 'active'));
    // Not cached from the overtaken load: the next lookup asks again.
    await directory.find('c1');
    expect(database.queries).toEqual(['c1', 'c1']);
  });

  it('forgets everything when notifications may have been missed', async () => {
    database.rows.set('c1', clientRow('c1'));
    await directory.find('c1');
    await directory.find('c2');
    subscriber.onReset();
    await directory.find('c1');
    await directory.find('c2');
    expect(database.queries).toEqual(['c1', 'c2', 'c1', 'c2']);
  });

  it('lets a failed lookup fail, and tries again next time', async () => {
    const failing = jest.spyOn(database, 'query').mockRejectedValueOnce(new Error('database down'));
    await expect(directory.find('c1')).rejects.toThrow('database down');
    failing.mockRestore();
    database.rows.set('c1', clientRow('c1'));
    expect((await directory.find('c1'))?.id).toBe('c1');
  });
});
