import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createDataSource } from '@app/database';
import { SCHEMA } from '@app/migrations';
import { http } from '../support/http';
import { lastCodeFor, uniquePhone } from '../support/otp-client';
import {
  freePort,
  runCliProcess,
  ServerProcess,
  startServerProcess,
} from '../support/server-process';

// Each test starts the real process (one or two starts of an embedded database).
jest.setTimeout(300_000);

/**
 * The admin CLI as operators run it: a process, JSON on stdout, exit codes. On PostgreSQL it
 * opens the database itself; on the embedded database it opens DATA_DIR, or, while a server
 * holds it, has that server run the command.
 */
describe('admin CLI process', () => {
  let scratch: string;
  let servers: ServerProcess[] = [];

  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'otp-link-cli-'));
  });

  afterEach(() => {
    for (const server of servers) server.kill();
    servers = [];
    rmSync(scratch, { recursive: true, force: true });
  });

  it('prints help without a database, and refuses bad configuration naming it', async () => {
    // Nothing listens on port 1: help must not try to connect.
    const unreachable = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' };
    const help = await runCliProcess(['--help'], unreachable);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('clients:create');
    expect(help.stdout).toContain('token:mint');

    const bad = await runCliProcess(['clients:list'], { DATABASE_URL: 'mysql://x' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('DATABASE_URL must be a postgres: or postgresql: URL');
    expect(bad.stdout).toBe('');
  });

  it('answers 5 at once when PostgreSQL does not answer', async () => {
    const started = Date.now();
    const down = await runCliProcess(['clients:list'], {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
    });
    expect(down.code).toBe(5);
    expect(JSON.parse(down.stderr.trim().split('\n').pop() ?? '')).toMatchObject({
      error: 'UNAVAILABLE',
    });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('works on the embedded database alone, then through the server that holds it', async () => {
    const dataDir = join(scratch, 'db');
    const messages = join(scratch, 'messages.jsonl');
    const created = await runCliProcess(['clients:create', '--name', 'Ludo'], {
      DATA_DIR: dataDir,
    });
    expect(created.code).toBe(0);
    const clientId = (created.json?.client as { id: string }).id;

    const port = await freePort();
    const env = {
      DATA_DIR: dataDir,
      PORT: String(port),
      NOTIFY_DRIVER: 'file',
      NOTIFY_FILE: messages,
    };
    const server = startServerProcess(env);
    servers.push(server);
    await server.listening();

    // The server holds DATA_DIR now: the CLI's commands run in it.
    const minted = await runCliProcess(['token:mint', '--client', clientId, '--user', 'p1'], {
      DATA_DIR: dataDir,
    });
    expect(minted.code).toBe(0);
    const phone = uniquePhone();
    const url = `http://127.0.0.1:${port}`;
    const headers = { 'user-jwt-token': minted.json?.token as string };
    const registered = await http(url, 'POST', '/fe/users/auth/otp/register', {
      headers,
      body: { phone_number: phone.national, countryCode: '+91' },
    });
    expect(registered.status).toBe(200);
    const sent = lastCodeFor(messages, phone.e164);
    expect(sent.body).toContain('Ludo');

    const suspended = await runCliProcess(['clients:suspend', '--client', clientId], {
      DATA_DIR: dataDir,
    });
    expect(suspended.code).toBe(0);
    const refused = await http(url, 'GET', '/fe/users/account/linked-mobile-number', { headers });
    expect(refused.body).toMatchObject({ message: 'token client is suspended' });
    const missing = await runCliProcess(['clients:show', '--client', 'nobody'], {
      DATA_DIR: dataDir,
    });
    expect(missing.code).toBe(3);

    // A second server cannot open the same directory.
    const second = startServerProcess({ ...env, PORT: String(await freePort()) });
    servers.push(second);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr()).toContain(`the embedded database in ${dataDir} is in use`);

    // Killed, the server leaves its socket behind; the CLI takes the directory over.
    server.kill();
    await server.exited;
    const after = await runCliProcess(['clients:show', '--client', clientId], {
      DATA_DIR: dataDir,
    });
    expect(after.code).toBe(0);
    expect(after.json).toMatchObject({ id: clientId, status: 'suspended' });
  });

  // PostgreSQL is there when the e2e suite runs on it (CI); a machine without one skips this.
  const serverUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  (serverUrl ? it : it.skip)(
    'manages clients on PostgreSQL, with exit codes scripts can use',
    async () => {
      const name = `otp_link_cli_${randomBytes(4).toString('hex')}`;
      const admin = new Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE "${name}"`);
      const url = new URL(serverUrl as string);
      url.pathname = `/${name}`;
      const env = { DATABASE_URL: url.toString() };
      try {
        // The CLI does not migrate PostgreSQL (operators run npm run migration:run): it says so.
        const unmigrated = await runCliProcess(['clients:list'], env);
        expect(unmigrated.code).toBe(1);
        expect(unmigrated.stderr).toContain('npm run migration:run');

        const migrator = createDataSource(
          { url: env.DATABASE_URL, dataDir: '', poolSize: 1 },
          SCHEMA,
          undefined,
          'migrations',
        );
        await migrator.initialize();
        await migrator.runMigrations();
        await migrator.destroy();

        const created = await runCliProcess(
          ['clients:create', '--name', 'Ludo', '--id', 'ludo-studio', '--hourly-budget', '500'],
          env,
        );
        expect(created.code).toBe(0);
        expect(created.json).toMatchObject({
          client: { id: 'ludo-studio', hourlySendBudget: 500 },
        });
        const again = await runCliProcess(
          ['clients:create', '--name', 'Ludo', '--id', 'ludo-studio'],
          env,
        );
        expect(again.code).toBe(4);
        expect(JSON.parse(again.stderr)).toMatchObject({ error: 'CONFLICT' });
        const changed = await runCliProcess(
          ['clients:set', '--client', 'ludo-studio', '--hourly-budget', 'none'],
          env,
        );
        expect(changed.json).toMatchObject({ hourlySendBudget: null });
        const audit = await runCliProcess(['audit', '--client', 'ludo-studio'], env);
        expect((audit.json?.items as Array<{ event: string }>).map((e) => e.event)).toEqual([
          'client_updated',
          'client_created',
        ]);
        const usage = await runCliProcess(['clients:set', '--client'], env);
        expect(usage.code).toBe(2);
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await admin.end();
      }
    },
  );
});
