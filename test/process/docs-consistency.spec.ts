import { createSecretKey } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { sign, type Algorithm } from 'jsonwebtoken';
import { PartnerJwtVerifier } from '@app/auth';
import { clientErrorHandler, ERROR_STATUS, SystemClock } from '@app/common';
import { KEY_ALGORITHMS, type RegisteredClient } from '@app/partners';

const ROOT = join(__dirname, '..', '..');
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
];
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The status Node's parser refusal of oversized headers answers, from the handler itself. */
function headerOverflowStatus(): number {
  let written = '';
  const socket = { writable: true, end: (data: string) => (written = data) } as unknown as Socket;
  clientErrorHandler(Object.assign(new Error('overflow'), { code: 'HPE_HEADER_OVERFLOW' }), socket);
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(written)?.[1]);
}

/** Each doc read against the code: one truth for statuses, algorithms and variable names. */
describe('docs agree with the code', () => {
  it('pair every error code with the status the code answers', () => {
    const allowed: Record<string, number[]> = Object.fromEntries(
      Object.entries(ERROR_STATUS).map(([code, status]) => [code, [status]]),
    );
    allowed.PAYLOAD_TOO_LARGE.push(headerOverflowStatus());
    expect(allowed.PAYLOAD_TOO_LARGE).toEqual([413, 431]);
    const wrong: string[] = [];
    for (const file of DOCS) {
      for (const [, status, code] of read(file).matchAll(/\b(\d{3}) `?([A-Z][A-Z_]{4,})\b/g)) {
        if (code in allowed && !allowed[code].includes(Number(status))) {
          wrong.push(`${file}: ${status} ${code}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("list in errors.md's catalogue every status and code pair the other docs mention", () => {
    const catalogue = new Set(
      [...read('docs/errors.md').matchAll(/^\| (\d{3}) +\| `([A-Z_]+)`/gm)].map(
        ([, status, code]) => `${status} ${code}`,
      ),
    );
    const missing = DOCS.flatMap((file) =>
      [...read(file).matchAll(/\b(\d{3}) `?([A-Z][A-Z_]{4,})\b/g)]
        .map(([, status, code]) => `${status} ${code}`)
        .filter((pair) => pair.split(' ')[1] in ERROR_STATUS && !catalogue.has(pair))
        .map((pair) => `${file}: ${pair}`),
    );
    expect(missing).toEqual([]);
  });

  it('name only the token algorithms the verifier accepts, and refuse the others they name', () => {
    const accepted = new Set<string>(KEY_ALGORITHMS);
    const named = new Set(
      DOCS.flatMap((file) => read(file).match(/\b[HRE]S(?:256|384|512)\b/g) ?? []),
    );
    expect([...named].filter((alg) => accepted.has(alg)).sort()).toEqual([...accepted].sort());
    // Any other algorithm a doc names must be one a registered client's key cannot pass with.
    const secret = 'docs-consistency-secret-0123456789';
    const client: RegisteredClient = {
      id: 'docs',
      name: 'Docs',
      status: 'active',
      allowedCountryCodes: null,
      hourlySendBudget: null,
      senderName: null,
      messageTemplate: null,
      messageTemplates: null,
      androidAppHash: null,
      keys: [{ kid: 'k', algorithm: 'HS256', key: createSecretKey(Buffer.from(secret)) }],
      retiredKids: new Set(),
      apiSecretHash: Buffer.alloc(32),
    };
    const verifier = new PartnerJwtVerifier(secret, new SystemClock());
    for (const alg of [...named].filter((name) => !accepted.has(name) && name.startsWith('HS'))) {
      const now = Math.floor(Date.now() / 1000);
      const token = sign({ third_party_client_id: 'docs', user_id: 'u', exp: now + 60 }, secret, {
        algorithm: alg as Algorithm,
      });
      expect(() => verifier.verify(token, client)).toThrow('unsupported token algorithm');
      expect(() => verifier.verify(token)).toThrow('unsupported token algorithm');
    }
  });

  it('never say kid is ignored: it picks the registered client key', () => {
    for (const file of DOCS) {
      expect({ file, stale: /kid[^.,;|]*never honou?red/i.test(read(file)) }).toEqual({
        file,
        stale: false,
      });
    }
  });

  it('name only environment variables the service reads (as .env.example lists them)', () => {
    const listed = new Set(
      [...read('.env.example').matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map(([, name]) => name),
    );
    const notConfig = new Set([
      ...Object.keys(ERROR_STATUS),
      // the test suites', the bench's and docker-compose.yml's own variables
      'TEST_DATABASE_URL',
      'REDIS_URL_FOR_TESTS',
      'CHROMIUM_PATH',
      'BENCH_ONLY',
      'BENCH_DURATION',
      'POSTGRES_PASSWORD',
      // libphonenumber number types (values of BLOCKED_NUMBER_TYPES)
      ...['PREMIUM_RATE', 'SHARED_COST', 'TOLL_FREE', 'VOIP', 'UAN', 'PERSONAL_NUMBER'],
    ]);
    const unknown: string[] = [];
    // partner-integration.md's variables are the partner's own examples.
    for (const file of DOCS.filter((name) => name !== 'docs/partner-integration.md')) {
      for (const [, name] of read(file).matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=[^`]*)?`/g)) {
        if (!listed.has(name) && !notConfig.has(name)) unknown.push(`${file}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });
});
