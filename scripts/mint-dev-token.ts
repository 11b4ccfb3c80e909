/**
 * Development helper: prints a partner JWT signed with PARTNER_JWT_SECRET (or the development
 * default), for trying the API with curl.
 *
 *   npm run token -- [--user qwerty] [--client <uuid>] [--name Ludo] [--hours 24]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sign } from 'jsonwebtoken';
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
      sub: user,
      user_id: user,
      client_id: client,
      iss: client,
      third_party_client_id: client,
      third_party_client_name: values.name,
      namespaced_third_party_user_id: `${client}___${user}`,
      iat: now,
      exp: now + Number(values.hours) * 3600,
    },
    config.partnerJwt.secret,
    { algorithm: 'HS256' },
  )}\n`,
);
