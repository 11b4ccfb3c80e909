import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { http } from '../support/http';
import { sendStuckBody } from '../support/raw-http';
import { freePort, ServerProcess, startServerProcess } from '../support/server-process';
import {
  startTwilioFake,
  TwilioFake,
  DEFAULT_FAKE_ACCOUNT_SID,
  DEFAULT_FAKE_AUTH_TOKEN,
} from '../support/twilio-fake';
import { newPartnerUser } from '../support/tokens';
import { lastCodeFor, uniquePhone } from '../support/otp-client';
import { openEmbeddedDatabase } from '@app/database';

// Each test starts the real process (one or two starts of an embedded database).
jest.setTimeout(300_000);

/** The real entry point as a process: config failures, persistence, graceful shutdown. */
describe('server process', () => {
  let dataDir: string;
  let servers: ServerProcess[] = [];

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'otp-link-process-'));
  });

  afterEach(() => {
    for (const server of servers) server.kill(); // by PID, even when a test failed
    servers = [];
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string>) => {
    const server = startServerProcess(env);
    servers.push(server);
    return server;
  };

  it('exits non-zero naming PORT when it is not a port', async () => {
    const server = start({ PORT: 'abc', DATA_DIR: dataDir });
    const { code } = await server.exited;
    expect(code).toBe(1);
    expect(server.stderr()).toContain('PORT must be an integer 1-65535, got "abc"');
  });

  it('exits non-zero with one line naming PORT when the port is in use', async () => {
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '0.0.0.0', resolve));
    try {
      const server = start({ PORT: String(port), DATA_DIR: dataDir });
      const { code } = await server.exited;
      expect(code).toBe(1);
      const failure = server
        .stderr()
        .split('\n')
        .filter((line) => line.includes('failed to start'));
      expect(failure).toEqual([
        `otp-link failed to start: PORT ${port} is already in use: stop what listens there, or set PORT to a free port`,
      ]);
      expect(server.stderr()).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('exits non-zero in production without secrets, naming each', async () => {
    const server = start({ NODE_ENV: 'production', DATA_DIR: dataDir });
    const { code } = await server.exited;
    expect(code).toBe(1);
    expect(server.stderr()).toContain('PARTNER_JWT_SECRET must be set in production');
    expect(server.stderr()).toContain('OTP_SECRET must be set in production');
    expect(server.stderr()).toContain('NOTIFY_DRIVER=console is a development driver');
  });

  it('serves /health on the embedded database, and a second start reuses the data', async () => {
    const port = await freePort();
    const messages = join(dataDir, 'messages.jsonl');
    const env = {
      PORT: String(port),
      DATA_DIR: join(dataDir, 'db'),
      NOTIFY_DRIVER: 'file',
      NOTIFY_FILE: messages,
    };
    const url = `http://127.0.0.1:${port}`;
    const user = newPartnerUser();
    const phone = uniquePhone();

    const first = start(env);
    await first.listening();
    expect((await http(url, 'GET', '/health')).status).toBe(200);
    const registered = await http(url, 'POST', '/fe/users/auth/otp/register', {
      headers: { 'user-jwt-token': user.token },
      body: { phone_number: phone.national, countryCode: '+91' },
    });
    expect(registered.status).toBe(200);
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    const second = start(env);
    await second.listening();
    const sent = lastCodeFor(messages, phone.e164);
    const verified = await http(url, 'POST', '/fe/users/auth/otp/verify', {
      headers: { 'user-jwt-token': user.token },
      body: {
        phone_number: phone.national,
        countryCode: '+91',
        authCode: sent.authCode,
        otp: sent.code,
      },
    });
    expect(verified.status).toBe(200);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  describe('graceful shutdown', () => {
    let fake: TwilioFake;

    beforeAll(async () => {
      fake = await startTwilioFake();
    });

    afterAll(async () => {
      await fake.close();
    });

    /** The server on the embedded database, sending its codes through the Twilio fake. */
    async function startSendingToFake(): Promise<{ server: ServerProcess; url: string }> {
      const port = await freePort();
      const server = start({
        PORT: String(port),
        DATA_DIR: dataDir,
        NOTIFY_DRIVER: 'twilio',
        TWILIO_API_URL: fake.url,
        TWILIO_ACCOUNT_SID: DEFAULT_FAKE_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: DEFAULT_FAKE_AUTH_TOKEN,
        TWILIO_FROM: '+15005550006',
        NOTIFY_TIMEOUT_MS: '3000',
      });
      await server.listening();
      return { server, url: `http://127.0.0.1:${port}` };
    }

    it('on SIGTERM finishes in-flight requests, then exits 0 within 5 s', async () => {
      const { server, url } = await startSendingToFake();
      // Each register waits ~1 s for the provider: they are in flight when SIGTERM arrives.
      fake.respondWith(...Array.from({ length: 5 }, () => ({ status: 201, delayMs: 1000 })));
      const inFlight = Array.from({ length: 5 }, () => {
        const user = newPartnerUser();
        return http(url, 'POST', '/fe/users/auth/otp/register', {
          headers: { 'user-jwt-token': user.token },
          body: { phone_number: uniquePhone().national, countryCode: '+91' },
        });
      });
      while (fake.requests.length < 5) await new Promise((resolve) => setTimeout(resolve, 20));

      const signalledAt = Date.now();
      server.child.kill('SIGTERM');
      const answers = await Promise.all(inFlight);
      const { code } = await server.exited;
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      expect(code).toBe(0);
      expect(Date.now() - signalledAt).toBeLessThan(5000);
    });

    it('on SIGTERM after its clients went away, finishes their requests before the database closes', async () => {
      const { server, url } = await startSendingToFake();
      const before = fake.requests.length;
      fake.respondWith(...Array.from({ length: 3 }, () => ({ status: 201, delayMs: 1000 })));
      const clients = Array.from({ length: 3 }, () => new AbortController());
      const abandoned = clients.map((client) =>
        fetch(`${url}/fe/users/auth/otp/register`, {
          method: 'POST',
          headers: { 'user-jwt-token': newPartnerUser().token, 'content-type': 'application/json' },
          body: JSON.stringify({ phone_number: uniquePhone().national, countryCode: '+91' }),
          signal: client.signal,
        }).catch(() => 'aborted'),
      );
      while (fake.requests.length < before + 3) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // The clients hang up while their codes are with the provider: no connection is left to
      // hold the server open, but the handlers still have their deliveries to record.
      for (const client of clients) client.abort();
      expect(await Promise.all(abandoned)).toEqual(['aborted', 'aborted', 'aborted']);

      server.child.kill('SIGTERM');
      const { code } = await server.exited;
      expect(code).toBe(0);
      expect(server.stdout()).not.toContain('"level":50');
      // Recorded as sent: none is left pending for the poller to send a second time.
      const embedded = await openEmbeddedDatabase(dataDir);
      try {
        const { rows } = await embedded.db.query<{ status: string; n: number }>(
          `SELECT status, count(*)::int AS n FROM outbox_messages GROUP BY status`,
        );
        expect(rows).toEqual([{ status: 'sent', n: 3 }]);
      } finally {
        await new embedded.driver.Pool().end();
      }
    });

    it('on SIGTERM with clients stuck sending their bodies, closes them and exits 0', async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const server = start({ PORT: String(port), DATA_DIR: dataDir });
      await server.listening();
      // Headers, then `{"a":` and silence: each holds its connection open mid-request.
      const stuck = [await sendStuckBody(url), await sendStuckBody(url)];
      expect((await http(url, 'GET', '/health')).status).toBe(200);

      server.child.kill('SIGTERM');
      const { code } = await server.exited;
      expect(code).toBe(0);
      // Both connections were cut by the server, not answered 408 (that comes only after 30 s).
      expect(await Promise.all(stuck.map((client) => client.closed))).toEqual(['', '']);
    });
  });
});
