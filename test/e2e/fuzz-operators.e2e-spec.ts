import fc from 'fast-check';
import { startTestApp, TestApp } from '../support/test-app';
import { registeredClient, TEST_ADMIN_KEY } from '../support/admin';
import { expectContract, preview, sendRequest, SPEC_ERRORS } from '../support/contract';

/*
 * Property-based fuzzing of the operators' and partner backends' surfaces (/admin, /s2s):
 * arbitrary bodies, path segments, query strings and credential headers. The property: an
 * answer is 2xx or a documented 4xx in the contract's error shape (with the admin API's
 * CONFLICT), within the deadline; afterwards every stored client still obeys the registry's
 * rules. Fixed seed, as in fuzz.e2e-spec.ts (FUZZ_SEED explores others).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const REQUEST_TIMEOUT_MS = 5_000;
const PROPERTY_TIMEOUT_MS = 120_000;
const KNOWN_ERRORS = { ...SPEC_ERRORS, CONFLICT: { status: 409, extra: [] } };

describe('fuzz: /admin and /s2s answer 2xx or a documented 4xx in the contract shape', () => {
  let t: TestApp;
  let client: Awaited<ReturnType<typeof registeredClient>>;

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_API_KEY: TEST_ADMIN_KEY });
    client = await registeredClient(t);
  });

  afterAll(async () => {
    await t.close();
  });

  const send = (
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ) => sendRequest(t.url, method, path, init, REQUEST_TIMEOUT_MS);

  const asAdmin = { 'x-admin-key': TEST_ADMIN_KEY, 'content-type': 'application/json' };

  /** Registry rules, by SQL: every entry must be empty. */
  async function registryProblems(): Promise<Record<string, unknown[]>> {
    const checks: Record<string, string> = {
      clientsWithoutActiveKey: `SELECT c.id FROM partner_clients c WHERE NOT EXISTS (
        SELECT 1 FROM partner_client_keys k WHERE k.client_id = c.id AND k.status = 'active')`,
      badCountryCodes: `SELECT id FROM partner_clients
        WHERE EXISTS (SELECT 1 FROM unnest(allowed_country_codes) code WHERE code !~ '^\\+[1-9][0-9]{0,2}$')
           OR cardinality(allowed_country_codes) = 0`,
      badNames: `SELECT id FROM partner_clients WHERE btrim(name) = '' OR name <> btrim(name)`,
      templatesWithoutCode: `SELECT id FROM partner_clients
        WHERE message_template IS NOT NULL AND position('{code}' in message_template) = 0`,
      badIds: `SELECT id FROM partner_clients WHERE id !~ '^[!-~]{1,128}$' OR position('___' in id) > 0`,
    };
    const found: Record<string, unknown[]> = {};
    for (const [name, sql] of Object.entries(checks)) {
      found[name] = await t.dataSource.query<unknown[]>(sql);
    }
    return found;
  }

  it(
    'arbitrary JSON bodies on the client routes',
    async () => {
      const field = fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.string({ maxLength: 40 }),
        fc.constantFrom(
          '+91',
          '91',
          '+0',
          '{code}',
          '{code} {app} {expires}',
          '___',
          'HS256',
          'RS256',
        ),
        fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxLength: 4 }),
        fc.integer({ min: -5, max: 2_000_000_000 }),
        fc.constant(null),
      );
      const body = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.record(
          {
            id: field,
            name: field,
            allowedCountryCodes: field,
            hourlySendBudget: field,
            senderName: field,
            messageTemplate: field,
            publicKey: field,
            algorithm: field,
          },
          { requiredKeys: [] },
        ),
      );
      const route = fc.constantFrom(
        ['POST', '/admin/clients'],
        ['PATCH', `/admin/clients/${client.id}`],
        ['POST', `/admin/clients/${client.id}/keys`],
      );
      await fc.assert(
        fc.asyncProperty(route, body, async ([method, path], value) => {
          const res = await send(method, path, { body: JSON.stringify(value), headers: asAdmin });
          expectContract(res, `${method} ${path} ${preview(value)}`, KNOWN_ERRORS);
        }),
        { seed: SEED, numRuns: 250 },
      );
      // Keys added by the property may fill the client up; its rules must hold anyway.
      const problems = await registryProblems();
      expect(problems).toEqual(Object.fromEntries(Object.keys(problems).map((key) => [key, []])));
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'arbitrary path segments and query strings on every /admin and /s2s read',
    async () => {
      const segment = fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.constantFrom(client.id, "' OR 1=1 --", '..', '%00', '%', '%E0%A4%A', 'a/b'),
      );
      const query = fc.dictionary(
        fc.constantFrom(
          'phone',
          'clientId',
          'userId',
          'limit',
          'cursor',
          'since',
          'until',
          'event',
          'status',
          'challengeId',
        ),
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.constantFrom('+919876543219', '2026-12-01T00:00:00Z', '0', '-1', '201'),
        ),
        { maxKeys: 4 },
      );
      const route = fc.constantFrom(
        (s: string) => ['GET', `/admin/clients/${s}`],
        (s: string) => ['GET', `/admin/clients?cursor=${s}`],
        (s: string) => ['DELETE', `/admin/links/${s}/${s}`],
        (s: string) => ['GET', `/s2s/users/${s}/link`],
        (s: string) => ['DELETE', `/s2s/users/${s}/link`],
        () => ['GET', '/admin/links'],
        () => ['GET', '/admin/audit'],
        () => ['GET', '/admin/messages'],
        () => ['GET', '/admin/clients'],
      );
      const credentials = {
        'x-admin-key': TEST_ADMIN_KEY,
        'x-client-id': client.credentials.id,
        'x-client-secret': client.credentials.secret,
      };
      await fc.assert(
        fc.asyncProperty(route, segment, query, async (build, raw, params) => {
          const [method, base] = build(encodeURIComponent(raw));
          const search = new URLSearchParams(params).toString();
          const path = search ? `${base}${base.includes('?') ? '&' : '?'}${search}` : base;
          const res = await send(method, path, { headers: credentials });
          expectContract(res, `${method} ${path}`, KNOWN_ERRORS);
        }),
        { seed: SEED, numRuns: 300 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'arbitrary credential headers: 401 (or 404 for a disabled route), never in',
    async () => {
      const value = fc.oneof(
        fc.string({ maxLength: 300 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
        fc.constantFrom(client.credentials.secret, client.id, TEST_ADMIN_KEY.slice(0, -1), ''),
      );
      await fc.assert(
        fc.asyncProperty(value, value, value, async (id, secret, adminKey) => {
          fc.pre(!(id === client.id && secret === client.credentials.secret));
          const s2s = await send('GET', '/s2s/users/u/link', {
            headers: { 'x-client-id': id, 'x-client-secret': secret },
          });
          expectContract(s2s, `s2s id=${preview(id)} secret=${preview(secret)}`, KNOWN_ERRORS);
          expect(s2s.status).toBe(401);
          const admin = await send('GET', '/admin/clients', {
            headers: { 'x-admin-key': adminKey },
          });
          expectContract(admin, `admin key=${preview(adminKey)}`, KNOWN_ERRORS);
          expect(admin.status).toBe(401);
        }),
        { seed: SEED, numRuns: 200 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});
