import { AdminService, CliResult, runAdminCli } from '@app/admin';
import { http, HttpResult } from './http';
import { lastCodeFor, OtpClient, uniquePhone } from './otp-client';
import type { TestApp } from './test-app';

/** The admin key the partner suites start their apps with. */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef-0123';

export interface CliRun extends CliResult {
  /** stdout as JSON (undefined when empty). */
  json: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- command-dependent shapes
  /** stderr's JSON error line, when there is one. */
  error?: { error: string; message: string; details?: Array<{ field: string; message: string }> };
}

/**
 * Runs an admin CLI command against the app's own services: the runner the CLI process uses
 * (which `test/process/cli.spec.ts` drives as a real process).
 */
export async function cli(t: TestApp, ...argv: string[]): Promise<CliRun> {
  const result = await runAdminCli(argv, async () => t.app.get(AdminService), {
    cwd: process.cwd(),
  });
  const errorLine = result.stderr.split('\n').find((line) => line.startsWith('{'));
  return {
    ...result,
    json: result.stdout.startsWith('{') ? JSON.parse(result.stdout) : undefined,
    error: errorLine ? JSON.parse(errorLine) : undefined,
  };
}

/** Runs a command that must succeed; answers its JSON. */
export async function cliOk(t: TestApp, ...argv: string[]) {
  const run = await cli(t, ...argv);
  if (run.exitCode !== 0) {
    throw new Error(`cli ${argv.join(' ')} exited ${run.exitCode}: ${run.stderr}`);
  }
  return run.json;
}

/** A call of the /admin API with the test key (or `key`). */
export function adminApi<T = Record<string, any>>( // eslint-disable-line @typescript-eslint/no-explicit-any -- as http()
  t: TestApp,
  method: string,
  path: string,
  options: { body?: unknown; key?: string | null } = {},
): Promise<HttpResult<T>> {
  const key = options.key === undefined ? TEST_ADMIN_KEY : options.key;
  return http<T>(t.url, method, `/admin${path}`, {
    headers: key === null ? {} : { 'x-admin-key': key },
    body: options.body,
  });
}

/** A call of the /s2s API with a client's credentials. */
export function s2s(
  t: TestApp,
  method: 'GET' | 'DELETE',
  userId: string,
  credentials: { id: string; secret: string } | Record<string, string>,
): Promise<HttpResult> {
  const headers =
    'id' in credentials && 'secret' in credentials
      ? { 'x-client-id': credentials.id, 'x-client-secret': credentials.secret }
      : credentials;
  return http(t.url, method, `/s2s/users/${encodeURIComponent(userId)}/link`, { headers });
}

/** A registered client made with the CLI, with what it printed once (key secret, API secret). */
export async function registeredClient(t: TestApp, ...options: string[]) {
  const created = await cliOk(t, 'clients:create', '--name', 'Ludo', ...options);
  return {
    id: created.client.id as string,
    kid: created.jwtKey.kid as string,
    jwtSecret: created.jwtKey.secret as string,
    credentials: { id: created.client.id as string, secret: created.apiSecret as string },
    created,
  };
}

/** A token minted by the CLI for one of the client's users. */
export async function mintedToken(
  t: TestApp,
  clientId: string,
  userId: string,
  ...options: string[]
) {
  const minted = await cliOk(t, 'token:mint', '--client', clientId, '--user', userId, ...options);
  return minted.token as string;
}

/** Registers a fresh phone with `token` and verifies it: the whole frontend flow. */
export async function linkPhone(t: TestApp, token: string) {
  const phone = uniquePhone();
  const app = new OtpClient(t, token);
  const registered = await app.register(phone.national);
  if (registered.status !== 200) {
    throw new Error(`register answered ${registered.status}: ${registered.text}`);
  }
  const sent = lastCodeFor(t.messagesFile, phone.e164);
  const verified = await app.verify(phone.national, sent.authCode, sent.code);
  if (verified.status !== 200)
    throw new Error(`verify answered ${verified.status}: ${verified.text}`);
  return { phone, app, sent, verified };
}
