import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { createTestDatabase, e2eDatabase, type TestDatabase } from '../support/test-database';

const run = promisify(execFile);
const PGBENCH = join(__dirname, '..', '..', 'bench', 'pgbench');

function hasPgbench(): boolean {
  try {
    execFileSync('pgbench', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// `npm run bench:pgbench` drives the functions with these scripts: a function's arguments or
// answers changing must not leave them broken until someone measures. They need pgbench (a
// PostgreSQL client tool) and a PostgreSQL server; on the embedded database, or where pgbench
// is not installed, there is nothing to run them with.
const describeWithPgbench = e2eDatabase() !== 'embedded' && hasPgbench() ? describe : describe.skip;

describeWithPgbench('the pgbench scripts of bench:pgbench', () => {
  let database: TestDatabase;
  let url: string;
  let client: Client;

  const count = async (table: string): Promise<number> => {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    return rows[0].n;
  };
  const psql = (...args: string[]) =>
    run('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', ...args], { cwd: PGBENCH });
  /** Runs a script `transactions` times on each of 2 clients; throws on any failed one. */
  const pgbench = async (script: string, transactions: number, ...options: string[]) => {
    const { stdout } = await run(
      'pgbench',
      [
        '-n',
        '-M',
        'prepared',
        '-c',
        '2',
        '-t',
        String(transactions),
        ...options,
        '-f',
        script,
        url,
      ],
      { cwd: PGBENCH },
    );
    // Every transaction done (a failed one aborts its client, so fewer are processed).
    const processed = /number of transactions actually processed: (\d+)\/(\d+)/.exec(stdout);
    expect(processed?.slice(1)).toEqual([String(2 * transactions), String(2 * transactions)]);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    url = database.env.DATABASE_URL;
    await psql(
      '-f',
      'floor.schema.sql',
      '-f',
      'lean-bound.schema.sql',
      '-v',
      'count=40',
      '-f',
      'live-challenges.sql',
    );
    client = new Client({ connectionString: url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('register.sql issues a code for a new user and phone each time', async () => {
    const before = await count('otp_challenges');
    await pgbench('register.sql', 5);
    expect(await count('otp_challenges')).toBe(before + 10);
    expect(await count('outbox_messages')).toBe(10);
    expect(await count(`audit_events WHERE event = 'requested'`)).toBe(10);
  });

  it('verify.sql links each client to challenges of its own share, none twice', async () => {
    await pgbench('verify.sql', 5, '-D', 'base=0', '-D', 'share=10', '-D', 'i=0');
    expect(await count('links')).toBe(10);
    expect(await count(`otp_challenges WHERE status = 'verified'`)).toBe(10);
    expect(await count(`audit_events WHERE event = 'linked'`)).toBe(10);
  });

  it('wrong.sql counts a wrong code each time', async () => {
    await pgbench('wrong.sql', 5, '-D', 'first=21', '-D', 'last=40');
    expect(await count('otp_verify_failures')).toBe(10);
    expect(await count(`audit_events WHERE event = 'verify_failed'`)).toBe(10);
  });

  it('floor.sql and lean-bound.sql write their rows', async () => {
    await pgbench('floor.sql', 5);
    await pgbench('lean-bound.sql', 5);
    expect(await count('bench_scratch')).toBe(10);
    expect(await count('lean_challenges')).toBe(10);
  });
});
