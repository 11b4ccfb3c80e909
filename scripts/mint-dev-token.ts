/**
 * Development helper: prints a partner JWT signed with PARTNER_JWT_SECRET (or the development
 * default), for trying the API with curl.
 *
 *   npm run token -- [--user qwerty] [--client <uuid>] [--name Ludo] [--hours 24]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sign } from 'jsonwebtoken';
import { partnerTokenClaims } from '@app/partners';
import { loadConfig, readEnvironment } from '@app/config';

const { values } = parseArgs({
  options: {
    user: { type: 'string', default: 'qwerty' },
    client: { type: 'string', default: randomUUID() },
    name: { type: 'string', default: 'Ludo' },
    hours: { type: 'string', default: '24' },
  },
});
const config = loadConfig(readEnvironment());
const now = Math.floor(Date.now() / 1000);
const client = values.client;
const user = values.user;
process.stdout.write(
  `${sign(
    {
      ...partnerTokenClaims({ clientId: client, userId: user, clientName: values.name }),
      iat: now,
      exp: now + Number(values.hours) * 3600,
    },
    config.partnerJwt.secret,
    { algorithm: 'HS256' },
  )}\n`,
);
