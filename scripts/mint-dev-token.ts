/**
 * Development helper: prints a partner JWT signed with PARTNER_JWT_SECRET (or the development
 * default), for trying the API with curl. See USAGE below (`npm run token -- --help`).
 */
import { parseArgs } from 'node:util';
import { sign } from 'jsonwebtoken';
import { partnerTokenClaims } from '@app/partners';
import {
  ConfigError,
  DEV_PARTNER_CLIENT_ID as DEV_CLIENT_ID,
  loadConfig,
  readEnvironment,
} from '@app/config';

const USAGE = `Prints a partner JWT (HS256, signed with PARTNER_JWT_SECRET or the development default)
on stdout, for trying the API with curl. The client id goes to stderr.

  npm run -s token -- [--user qwerty] [--client ${DEV_CLIENT_ID}] [--name Ludo] [--hours 24]

  --user    the partner's user id (user_id and sub)                      default qwerty
  --client  the partner client id (third_party_client_id and client_id)  default ${DEV_CLIENT_ID}
  --name    third_party_client_name, the app name in the SMS             default Ludo
  --hours   lifetime of the token (exp = now + hours)                     default 24
  --help    this text

The same --user and --client always mean the same partner user, so a token minted again finds
the link made with an earlier one. A client registered with \`npm run cli -- clients:create\`
has its own key: mint its tokens with \`npm run cli -- token:mint --client <id> --user <user>\`.
`;

function main(): void {
  const { values } = parseArgs({
    options: {
      user: { type: 'string', default: 'qwerty' },
      client: { type: 'string', default: DEV_CLIENT_ID },
      name: { type: 'string', default: 'Ludo' },
      hours: { type: 'string', default: '24' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const hours = Number(values.hours);
  if (!Number.isFinite(hours) || hours <= 0) {
    throw new UsageError('--hours must be a positive number');
  }
  const config = loadConfig(readEnvironment());
  const now = Math.floor(Date.now() / 1000);
  const token = sign(
    {
      ...partnerTokenClaims({
        clientId: values.client,
        userId: values.user,
        clientName: values.name,
      }),
      iat: now,
      exp: now + Math.round(hours * 3600),
    },
    config.partnerJwt.secret,
    { algorithm: 'HS256' },
  );
  process.stderr.write(`client id: ${values.client}, user id: ${values.user}\n`);
  process.stdout.write(`${token}\n`);
}

class UsageError extends Error {}

try {
  main();
} catch (error) {
  // Unknown options, a bad value or a bad environment: one line and the usage, no stack.
  const known =
    error instanceof UsageError ||
    error instanceof ConfigError ||
    (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
    (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE';
  if (!known) throw error;
  process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
  process.exitCode = 2;
}
