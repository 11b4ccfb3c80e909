import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AppError, ErrorCode, isDatabaseUnavailable } from '@app/common';
import { AUDIT_EVENTS, type AuditEventName } from '@app/audit';
import {
  CLIENT_STATUSES,
  KEY_ALGORITHMS,
  type ClientSettings,
  type KeyAlgorithm,
} from '@app/partners';
import type { AdminService } from '../admin.service';

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** Anything unexpected (a bug, a broken database). */
  failed: 1,
  /** Bad arguments or values (VALIDATION_FAILED). */
  usage: 2,
  notFound: 3,
  conflict: 4,
  /** The database did not answer; retry later. */
  unavailable: 5,
} as const;

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliContext {
  /** Relative paths (key files) are read from here: the operator's directory. */
  cwd: string;
}

const EXIT_BY_ERROR: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.ValidationFailed]: EXIT.usage,
  [ErrorCode.InvalidPhone]: EXIT.usage,
  [ErrorCode.RecordNotFound]: EXIT.notFound,
  [ErrorCode.Conflict]: EXIT.conflict,
  [ErrorCode.Unavailable]: EXIT.unavailable,
};

const MAX_KEY_FILE_BYTES = 16 * 1024;

/**
 * The operators' command line: parses `argv` (what follows `npm run cli --`), runs the command
 * with the AdminService and answers JSON on stdout, or a JSON error on stderr with an exit code
 * from {@link EXIT}. Nothing here touches the process (no exit, no console), so the same runner
 * serves a CLI process and, for the embedded database, the server that holds it.
 */
export async function runAdminCli(
  argv: string[],
  admin: () => Promise<AdminService>,
  context: CliContext,
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const print = (value: unknown) => {
    stdout += `${JSON.stringify(value, null, 2)}\n`;
  };
  const program = new Command('npm run cli --')
    // Set before the commands are added: each command inherits them.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => (stdout += text),
      writeErr: (text) => (stderr += text),
    });
  addCommands(program, admin, print, context);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { exitCode: EXIT.ok, stdout, stderr };
  } catch (error) {
    if (error instanceof CommanderError) {
      const exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return { exitCode, stdout, stderr };
    }
    if (error instanceof AppError) {
      const { details } = error.extra;
      stderr += `${JSON.stringify({ error: error.code, message: error.message, ...(details ? { details } : {}) })}\n`;
      return { exitCode: EXIT_BY_ERROR[error.code] ?? EXIT.failed, stdout, stderr };
    }
    if (isDatabaseUnavailable(error)) {
      stderr += `${JSON.stringify({ error: ErrorCode.Unavailable, message: 'database unavailable' })}\n`;
      return { exitCode: EXIT.unavailable, stdout, stderr };
    }
    const message = isUnmigrated(error)
      ? 'the database has no otp-link tables yet: run npm run migration:run first'
      : error instanceof Error
        ? error.message
        : String(error);
    stderr += `${JSON.stringify({ error: ErrorCode.Internal, message })}\n`;
    return { exitCode: EXIT.failed, stdout, stderr };
  }
}

function addCommands(
  program: Command,
  admin: () => Promise<AdminService>,
  print: (value: unknown) => void,
  context: CliContext,
): void {
  program
    .description(
      'otp-link operators: partner clients, links, audit. JSON on stdout; on failure a JSON ' +
        'error on stderr and exit code 2 (bad input), 3 (not found), 4 (conflict), ' +
        '5 (database unavailable) or 1 (anything else).',
    )
    .helpCommand(false)
    .showHelpAfterError('(add --help for usage)');

  const run =
    <T extends unknown[]>(action: (service: AdminService, ...args: T) => Promise<unknown>) =>
    async (...args: T) =>
      print(await action(await admin(), ...args));

  const readKeyFile = (path: string): string => {
    let text: string;
    try {
      text = readFileSync(resolve(context.cwd, path), 'utf8');
    } catch (error) {
      throw keyFileProblem(
        `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    if (text.length > MAX_KEY_FILE_BYTES) throw keyFileProblem(`${path} is too large for a key`);
    return text;
  };
  const keyOptions = (command: Command) =>
    command
      .option(
        '--public-key-file <path>',
        "the partner's RS256/ES256 public key (PEM); default: a new HS256 secret",
      )
      .addOption(
        new Option('--algorithm <alg>', 'expected algorithm of the key').choices(KEY_ALGORITHMS),
      );
  const settingOptions = (command: Command) =>
    command
      // Kept as given (commander turns a parser's null into ''): settingsOf reads them.
      .option(
        '--allowed-countries <codes>',
        'comma-separated calling codes, e.g. +91,+44 ("" clears)',
      )
      .option('--hourly-budget <n>', 'codes per hour for all its users ("none" clears)')
      .option('--sender-name <name>', 'app name in its SMS ("" clears)')
      .option('--template <text>', 'its SMS text with {code}, {app}, {expires} ("" clears)')
      .option(
        '--templates <json>',
        'its texts by locale, replacing the set: \'{"hi":"{code} …"}\' ("" clears)',
      )
      .option('--android-app-hash <hash>', 'its SMS Retriever app hash, 11 characters ("" clears)');

  settingOptions(
    keyOptions(
      program
        .command('clients:create')
        .description('register a partner client; prints its JWT key and API secret (shown once)')
        .requiredOption('--name <name>', 'display name')
        .option('--id <id>', 'the third_party_client_id its tokens carry (default: a new UUID)'),
    ),
  ).action(
    run((service, options: CreateOptions) =>
      service.createClient({
        id: options.id,
        name: options.name,
        ...settingsOf(options),
        publicKeyPem: options.publicKeyFile ? readKeyFile(options.publicKeyFile) : undefined,
        algorithm: options.algorithm,
      }),
    ),
  );

  program
    .command('clients:list')
    .description('clients in registration order, a page at a time')
    .addOption(new Option('--status <status>', 'only these').choices(CLIENT_STATUSES))
    .option('--limit <n>', 'page size (1-200)', integer)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .action(
      run(
        (service, options: { status?: 'active' | 'suspended'; limit?: number; cursor?: string }) =>
          service.listClients(options),
      ),
    );

  program
    .command('clients:show')
    .description('one client with its keys')
    .requiredOption('--client <id>', 'client id')
    .action(run((service, options: { client: string }) => service.getClient(options.client)));

  settingOptions(
    program
      .command('clients:set')
      .description("change a client's settings")
      .requiredOption('--client <id>', 'client id')
      .option('--name <name>', 'display name'),
  ).action(
    run((service, options: SettingOptions & { client: string; name?: string }) =>
      service.updateClient(options.client, {
        ...(options.name === undefined ? {} : { name: options.name }),
        ...settingsOf(options),
      }),
    ),
  );

  for (const [name, status, description] of [
    ['clients:suspend', 'suspended', 'refuse its tokens and API secret from now on'],
    ['clients:activate', 'active', 'lift a suspension'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .requiredOption('--client <id>', 'client id')
      .action(
        run((service, options: { client: string }) =>
          service.setClientStatus(options.client, status),
        ),
      );
  }

  keyOptions(
    program
      .command('clients:rotate-key')
      .description(
        'add a JWT key (HS256 secret printed once); the old keys stay valid until retired',
      )
      .requiredOption('--client <id>', 'client id'),
  ).action(
    run((service, options: { client: string; publicKeyFile?: string; algorithm?: KeyAlgorithm }) =>
      service.rotateKey(options.client, {
        publicKeyPem: options.publicKeyFile ? readKeyFile(options.publicKeyFile) : undefined,
        algorithm: options.algorithm,
      }),
    ),
  );

  program
    .command('clients:retire-key')
    .description('stop accepting tokens signed with a key')
    .requiredOption('--client <id>', 'client id')
    .requiredOption('--kid <kid>', 'the key id')
    .action(
      run((service, options: { client: string; kid: string }) =>
        service.retireKey(options.client, options.kid),
      ),
    );

  program
    .command('clients:rotate-secret')
    .description('a new API secret for /s2s (printed once); the old one stops working')
    .requiredOption('--client <id>', 'client id')
    .action(run((service, options: { client: string }) => service.rotateApiSecret(options.client)));

  program
    .command('app-keys:issue')
    .description(
      'a new publishable app key (x-api-key of /api/v1), printed once; the old ones stay valid until retired',
    )
    .requiredOption('--client <id>', 'client id')
    .action(run((service, options: { client: string }) => service.issueAppKey(options.client)));

  program
    .command('app-keys:list')
    .description("a client's app keys (never the keys themselves) and allowed origins")
    .requiredOption('--client <id>', 'client id')
    .action(run((service, options: { client: string }) => service.listAppKeys(options.client)));

  program
    .command('app-keys:retire')
    .description('the app key stops working at once')
    .requiredOption('--client <id>', 'client id')
    .requiredOption('--key <id>', 'the app key id (ak_…)')
    .action(
      run((service, options: { client: string; key: string }) =>
        service.retireAppKey(options.client, options.key),
      ),
    );

  program
    .command('app-keys:origins')
    .description(
      "the browser origins (Origin) the client's app keys may be used from; none given: any",
    )
    .requiredOption('--client <id>', 'client id')
    .option(
      '--origin <origin>',
      'e.g. https://app.example.com (repeat for several)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(
      run((service, options: { client: string; origin?: string[] }) =>
        service.setAllowedOrigins(options.client, options.origin ?? null),
      ),
    );

  program
    .command('sessions:list')
    .description("sessions, apps' and websites' (kind app|web), newest first")
    .option('--session <id>', 'one session')
    .option('--client <id>', 'client id')
    .option('--phone <e164>', 'e.g. +919876543219')
    .option('--active', 'only sessions still usable')
    .option('--limit <n>', 'page size (1-200)', integer)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .action(
      run(
        (
          service,
          options: {
            session?: string;
            client?: string;
            phone?: string;
            active?: boolean;
            limit?: number;
            cursor?: string;
          },
        ) =>
          service.listSessions({
            sessionId: options.session,
            clientId: options.client,
            phone: options.phone,
            active: options.active,
            limit: options.limit,
            cursor: options.cursor,
          }),
      ),
    );

  program
    .command('sessions:end')
    .description(
      "end sessions at once, apps' and websites' (every token or cookie of theirs stops working): one (--session), a phone's (--phone, within --client if given) or a client's (--client)",
    )
    .option('--session <id>', 'one session')
    .option('--client <id>', 'client id')
    .option('--phone <e164>', 'e.g. +919876543219')
    .action(
      run((service, options: { session?: string; client?: string; phone?: string }) =>
        service.endSessions({
          sessionId: options.session,
          clientId: options.client,
          phone: options.phone,
        }),
      ),
    );

  program
    .command('keys:list')
    .description('the keys that sign our tokens (active, retiring, retired)')
    .action(run((service) => service.listSigningKeys()));

  program
    .command('keys:rotate')
    .description(
      'a new key signs our tokens from now on; the old one stays published and valid until keys:retire',
    )
    .action(run((service) => service.rotateSigningKey()));

  program
    .command('keys:retire')
    .description('a retiring key leaves the JWKS: the tokens it signed are refused from now on')
    .requiredOption('--kid <kid>', 'the key id')
    .action(run((service, options: { kid: string }) => service.retireSigningKey(options.kid)));

  program
    .command('links:find')
    .description("a phone's links in every client, or one partner user's link, or a client's links")
    .option('--phone <e164>', 'e.g. +919876543219')
    .option('--client <id>', 'client id')
    .option('--user <id>', "the client's user id (with --client)")
    .option('--limit <n>', 'page size (1-200)', integer)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .action(
      run(
        (
          service,
          options: {
            phone?: string;
            client?: string;
            user?: string;
            limit?: number;
            cursor?: string;
          },
        ) =>
          service.findLinks({
            phone: options.phone,
            clientId: options.client,
            userId: options.user,
            limit: options.limit,
            cursor: options.cursor,
          }),
      ),
    );

  program
    .command('links:unlink')
    .description("remove a partner user's link (audited as done by an operator)")
    .requiredOption('--client <id>', 'client id')
    .requiredOption('--user <id>', "the client's user id")
    .action(
      run((service, options: { client: string; user: string }) =>
        service.unlink(options.client, options.user),
      ),
    );

  program
    .command('limits:clear')
    .description('give a phone its hour back: its sends and wrong codes are forgotten (audited)')
    .requiredOption('--phone <e164>', 'e.g. +919876543219')
    .action(run((service, options: { phone: string }) => service.clearLimits(options.phone)));

  program
    .command('pumping:status')
    .description("the pumping guard's countries and number blocks of the last hour, paused first")
    .action(run((service) => service.pumpingStatus()));

  program
    .command('pumping:clear')
    .description('open a country or number block the pumping guard paused (audited)')
    .option('--region <code>', 'a country (JM) or a calling code (+881)')
    .option('--block <prefix>', 'a number block: E.164 without its last 4 digits (+1876555)')
    .action(
      run((service, options: { region?: string; block?: string }) => service.clearPumping(options)),
    );

  program
    .command('messages')
    .description(
      "a code's messages or a phone's, newest first: channel, status, provider id, delivery statuses",
    )
    .option('--challenge <id>', "the code's challenge id")
    .option('--phone <e164>', 'e.g. +919876543219')
    .action(
      run((service, options: { challenge?: string; phone?: string }) =>
        service.listMessages({ challengeId: options.challenge, phone: options.phone }),
      ),
    );

  program
    .command('audit')
    .description('audit events matching every filter given, newest first')
    .option('--phone <e164>', 'e.g. +919876543219')
    .option('--client <id>', 'client id')
    .option('--user <id>', 'user id')
    .addOption(new Option('--event <name>', 'only this event').choices(AUDIT_EVENTS))
    .option('--since <time>', 'ISO 8601, e.g. 2026-12-01T00:00:00Z', time)
    .option('--until <time>', 'ISO 8601', time)
    .option('--limit <n>', 'page size (1-200)', integer)
    .option('--cursor <cursor>', 'nextCursor of the previous page')
    .action(
      run((service, options: AuditOptions) =>
        service.searchAudit({
          phone: options.phone,
          clientId: options.client,
          userId: options.user,
          event: options.event,
          since: options.since,
          until: options.until,
          limit: options.limit,
          cursor: options.cursor,
        }),
      ),
    );

  program
    .command('token:mint')
    .description(
      "development: a partner JWT for one of the client's users, signed with its HS256 key",
    )
    .requiredOption('--client <id>', 'client id')
    .requiredOption('--user <id>', 'user id')
    .option('--kid <kid>', 'sign with this key (default: the newest HS256 key)')
    .option('--ttl <seconds>', 'lifetime (default 3600)', integer)
    .option('--wallet <address>', 'wallet_address claim')
    .action(
      run(
        (
          service,
          options: { client: string; user: string; kid?: string; ttl?: number; wallet?: string },
        ) =>
          service.mintToken({
            clientId: options.client,
            userId: options.user,
            kid: options.kid,
            ttlSeconds: options.ttl,
            walletAddress: options.wallet,
          }),
      ),
    );
}

/** The settings options as typed: "" (or "none" for the budget) clears a setting. */
interface SettingOptions {
  allowedCountries?: string;
  hourlyBudget?: string;
  senderName?: string;
  template?: string;
  templates?: string;
  androidAppHash?: string;
}

interface CreateOptions extends SettingOptions {
  id?: string;
  name: string;
  publicKeyFile?: string;
  algorithm?: KeyAlgorithm;
}

interface AuditOptions {
  phone?: string;
  client?: string;
  user?: string;
  event?: AuditEventName;
  since?: Date;
  until?: Date;
  limit?: number;
  cursor?: string;
}

/** Only the options given: an absent one leaves its setting as it is. */
function settingsOf(options: SettingOptions): Omit<ClientSettings, 'name'> {
  const settings: Omit<ClientSettings, 'name'> = {};
  const { allowedCountries, hourlyBudget, senderName, template } = options;
  if (allowedCountries !== undefined) {
    const codes = allowedCountries
      .split(',')
      .map((code) => code.trim())
      .filter(Boolean);
    settings.allowedCountryCodes = codes.length === 0 ? null : codes;
  }
  if (hourlyBudget !== undefined) {
    if (hourlyBudget !== 'none' && !/^\d{1,10}$/.test(hourlyBudget)) {
      throw new AppError(
        ErrorCode.ValidationFailed,
        { details: [{ field: 'hourly-budget', message: 'a whole number, or "none"' }] },
        '--hourly-budget must be a whole number, or "none"',
      );
    }
    settings.hourlySendBudget = hourlyBudget === 'none' ? null : Number(hourlyBudget);
  }
  if (senderName !== undefined) settings.senderName = senderName === '' ? null : senderName;
  if (template !== undefined) settings.messageTemplate = template === '' ? null : template;
  if (options.templates !== undefined) settings.messageTemplates = templatesOf(options.templates);
  if (options.androidAppHash !== undefined) {
    settings.androidAppHash = options.androidAppHash === '' ? null : options.androidAppHash;
  }
  return settings;
}

/** --templates: a JSON object of texts by locale; the registry checks the locales and texts. */
function templatesOf(json: string): Record<string, string> | null {
  if (json === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AppError(
      ErrorCode.ValidationFailed,
      { details: [{ field: 'templates', message: 'a JSON object, e.g. {"hi":"{code} …"}' }] },
      '--templates must be a JSON object of texts by locale, e.g. {"hi":"{code} …"}',
    );
  }
  return parsed as Record<string, string>;
}

/** PostgreSQL's undefined_table: the schema is not there (embedded databases migrate at start). */
function isUnmigrated(error: unknown): boolean {
  return (error as { driverError?: { code?: string } } | null)?.driverError?.code === '42P01';
}

function keyFileProblem(message: string): AppError {
  return new AppError(
    ErrorCode.ValidationFailed,
    { details: [{ field: 'public-key-file', message }] },
    message,
  );
}

function integer(value: string): number {
  if (!/^\d{1,10}$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

function time(value: string): Date {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || isNaN(at.getTime())) {
    throw new InvalidArgumentError('must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z');
  }
  return at;
}
