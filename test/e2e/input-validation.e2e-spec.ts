import { sign } from 'jsonwebtoken';
import { DEV_PARTNER_JWT_SECRET } from '@app/config';
import { http, HttpResult } from '../support/http';
import { lastCodeFor, OtpClient, sentMessages, uniquePhone } from '../support/otp-client';
import { newPartnerUser, partnerToken } from '../support/tokens';
import { startTestApp, TestApp } from '../support/test-app';

const REGISTER = '/fe/users/auth/otp/register';
const RESEND = '/fe/users/auth/otp/resend';
const VERIFY = '/fe/users/auth/otp/verify';
const LINKED = '/fe/users/account/linked-mobile-number';
const CONFIG = '/fe/users/auth/otp/config';

type Json = Record<string, unknown>;
type Headers = Record<string, string>;

/** The three POST endpoints and the fields each requires. */
const POSTS = [
  { endpoint: 'register', path: REGISTER, fields: ['countryCode', 'phone_number'] },
  { endpoint: 'resend', path: RESEND, fields: ['countryCode', 'phone_number'] },
  { endpoint: 'verify', path: VERIFY, fields: ['authCode', 'countryCode', 'otp', 'phone_number'] },
] as const;
type Post = (typeof POSTS)[number];

/** A body the endpoint accepts (verify: well-formed, for a challenge that does not exist). */
function validBody(post: Post, national = uniquePhone().national): Json {
  const phone = { phone_number: national, countryCode: '+91' };
  return post.path === VERIFY ? { ...phone, authCode: '12345678', otp: '123456' } : phone;
}

const STACK_TRACE = /\bat .+\.(ts|js):\d+|node_modules|\w*Error:/;
const SQL_TEXT =
  /\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|QueryFailedError|syntax error at|violates|pg_advisory|otp_challenges|otp_sends)\b/;

/** Real HTTP, and what no answer in this file may ever carry. */
async function call(
  t: TestApp,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Headers } = {},
): Promise<HttpResult> {
  const res = await http(t.url, method, path, options);
  expectNoLeak(res);
  expect(res.status).not.toBe(500);
  return res;
}

function expectNoLeak(res: HttpResult): void {
  expect(res.text).not.toMatch(STACK_TRACE);
  expect(res.text).not.toMatch(SQL_TEXT);
}

const EXTRA_FIELDS: Record<string, string[]> = {
  VALIDATION_FAILED: ['details'],
  RATE_LIMITED: ['retryAfter'],
  RESEND_TOO_SOON: ['retryAfter'],
  INVALID_OTP: ['attemptsLeft'],
};

/** The contract's error body: `{statusCode, error, message}` plus only the extras named for it. */
function expectError(res: HttpResult, status: number, code: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error: code });
  expect(res.body).toMatchObject({ statusCode: status, error: code, message: expect.any(String) });
  const allowed = ['statusCode', 'error', 'message', ...(EXTRA_FIELDS[code] ?? [])];
  expect(Object.keys(res.body).filter((key) => !allowed.includes(key))).toEqual([]);
  if (code === 'VALIDATION_FAILED') {
    expect(Array.isArray(res.body.details)).toBe(true);
    for (const detail of res.body.details as unknown[]) {
      expect(detail).toEqual({ field: expect.any(String), message: expect.any(String) });
    }
  }
}

/** 400 VALIDATION_FAILED whose details name exactly these fields. */
function expectInvalidFields(res: HttpResult, ...fields: string[]): void {
  expectError(res, 400, 'VALIDATION_FAILED');
  const named = (res.body.details as Array<{ field: string }>).map((detail) => detail.field);
  expect([...new Set(named)].sort()).toEqual([...fields].sort());
}

function expectUnauthorized(res: HttpResult, token?: string): void {
  expect(res.status).toBe(401);
  expect(res.body).toEqual({
    statusCode: 401,
    error: 'UN_AUTHORIZED',
    message: expect.any(String),
  });
  if (token) {
    expect(res.text).not.toContain(token);
    const signature = token.split('.')[2];
    if (signature) expect(res.text).not.toContain(signature);
  }
}

interface Footprint {
  sent: number;
  challenges: number;
  sends: number;
  outbox: number;
  links: number;
}

/** What a refused request must leave untouched: messages sent and rows written. */
async function footprint(t: TestApp): Promise<Footprint> {
  const [row] = await t.dataSource.query<Array<Omit<Footprint, 'sent'>>>(
    `SELECT (SELECT count(*) FROM otp_challenges)::int AS challenges,
            (SELECT count(*) FROM otp_sends)::int AS sends,
            (SELECT count(*) FROM outbox_messages)::int AS outbox,
            (SELECT count(*) FROM links)::int AS links`,
  );
  return { sent: sentMessages(t.messagesFile).length, ...row };
}

/** Runs `request` and checks that it neither sent a message nor wrote a challenge, send or link. */
async function leavesNoTrace(t: TestApp, request: () => Promise<HttpResult>): Promise<HttpResult> {
  const before = await footprint(t);
  const res = await request();
  expect(await footprint(t)).toEqual(before);
  return res;
}

/** Seconds on the clock of the app under test (tests move it forward). */
let now = () => Math.floor(Date.now() / 1000);
const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Claims of a well-formed partner token, to sign or tamper with. */
function claims(extra: Json = {}): Json {
  const user = newPartnerUser();
  return {
    sub: user.userId,
    user_id: user.userId,
    client_id: user.clientId,
    third_party_client_id: user.clientId,
    namespaced_third_party_user_id: `${user.clientId}___${user.userId}`,
    iat: now(),
    exp: now() + 3600,
    ...extra,
  };
}

const signed = (payload: Json, algorithm: 'HS256' | 'HS512' = 'HS256') =>
  sign(payload, DEV_PARTNER_JWT_SECRET, { algorithm });

function unsigned(payload: Json): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(payload)}.`;
}

/** A token whose payload was swapped for another user's, keeping the original signature. */
function tampered(): string {
  const [header, , signature] = signed(claims()).split('.');
  return `${header}.${base64url(claims())}.${signature}`;
}

function withoutExp(): string {
  const payload = claims();
  delete payload.exp;
  return signed(payload);
}

const inHeader = (token: string) => ({ headers: { 'user-jwt-token': token }, token });

/** [case, the headers carrying the bad token (and the token), what the message says]. */
const BAD_TOKENS: Array<[string, () => { headers: Headers; token?: string }, RegExp]> = [
  ['no token', () => ({ headers: {} }), /missing/],
  ['an empty header', () => ({ headers: { 'user-jwt-token': '' } }), /missing/],
  ['not a JWT', () => ({ headers: { 'user-jwt-token': 'not-a-jwt' } }), /malformed/],
  ['three garbage segments', () => ({ headers: { 'user-jwt-token': 'a.b.c' } }), /malformed/],
  [
    'two tokens in one header',
    () => {
      const token = partnerToken();
      return { headers: { 'user-jwt-token': `${token}, ${token}` }, token };
    },
    /malformed/,
  ],
  [
    'a token over 8 KiB',
    () => ({ headers: { 'user-jwt-token': `${'a'.repeat(9000)}.b.c` } }),
    /too large/,
  ],
  [
    'a wrong signature',
    () => inHeader(partnerToken({}, { secret: 'not-the-partner-secret' })),
    /signature/,
  ],
  ['a tampered payload', () => inHeader(tampered()), /signature/],
  [
    'expired beyond the 30 s leeway',
    () => inHeader(signed(claims({ iat: now() - 3600, exp: now() - 45 }))),
    /expired/,
  ],
  ['alg none', () => inHeader(unsigned(claims())), /algorithm/],
  [
    'alg none with a signature',
    () => inHeader(unsigned(claims()) + signed(claims()).split('.')[2]),
    /algorithm/,
  ],
  ['HS512 instead of HS256', () => inHeader(signed(claims(), 'HS512')), /algorithm/],
  ['no exp', () => inHeader(withoutExp()), /expiry/],
  [
    'iat more than 30 s in the future',
    () => inHeader(signed(claims({ iat: now() + 120 }))),
    /future/,
  ],
  [
    'nbf more than 30 s in the future',
    () => inHeader(signed(claims({ nbf: now() + 120 }))),
    /not yet valid/,
  ],
  [
    'no user claim',
    () => inHeader(signed(claims({ sub: undefined, user_id: undefined }))),
    /claims missing: user_id or sub/,
  ],
  [
    'a namespaced id naming someone else',
    () => inHeader(partnerToken({ namespaced_third_party_user_id: 'other-client___other-user' })),
    /namespaced/,
  ],
  [
    'Authorization: Basic',
    () => ({ headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }),
    /missing/,
  ],
  [
    'Authorization: Bearer with a bad signature',
    () => {
      const token = partnerToken({}, { secret: 'not-the-partner-secret' });
      return { headers: { authorization: `Bearer ${token}` }, token };
    },
    /signature/,
  ],
];

const PROTECTED = [
  ...POSTS.map((post) => ({ endpoint: post.endpoint, method: 'POST', path: post.path, post })),
  { endpoint: 'linked-mobile-number', method: 'GET', path: LINKED, post: undefined },
];

/** Non-digit and hostile strings for phone_number. */
const BAD_PHONE_NUMBERS: Array<[string, string]> = [
  ['letters', 'abcdefghij'],
  ['digits and letters', '98765abc19'],
  ['a leading +', '+919876543219'],
  ['Arabic-Indic digits', '٩٨٧٦٥٤٣٢١٩'],
  ['one Arabic-Indic digit', '987654321٣'],
  ['full-width digits', '９８７６５４３２１９'],
  ['an emoji', '98765😀3219'],
  ['dots', '98765.43219'],
  ['parentheses', '(987) 654-3219'],
  ['a NUL byte', '98765\u000043219'],
  ['a newline', '98765\n43219'],
  ['a tab', '98765\t43219'],
  ['an empty string', ''],
  ['only separators', ' - - '],
  ['3 digits', '987'],
  ['21 digits', '9'.repeat(21)],
  ['10 KB of digits', '9'.repeat(10 * 1024)],
  ['SQL', "' OR 1=1 --"],
  ['SQL after digits', "9876543219'; DROP TABLE links; --"],
  ['a script tag', '<script>alert(1)</script>'],
];

/** countryCode values that are not `+` and 1-3 digits. */
const BAD_COUNTRY_CODES: Array<[string, string]> = [
  ['a lone +', '+'],
  ['an empty string', ''],
  ['+ and 4 digits', '+1234'],
  ['4 digits', '1234'],
  ['letters', 'abc'],
  ['two pluses', '++91'],
  ['a letter after the digits', '+9a'],
  ['a space inside', '+ 91'],
  ['surrounding spaces', ' +91 '],
  ['Arabic-Indic digits', '+٩١'],
  ['full-width', '＋９１'],
  ['an emoji', '+9😀'],
  ['SQL', "' OR 1=1 --"],
  ['a script tag', '<script>'],
  ['10 KB', '+'.repeat(10 * 1024)],
];

/** Values that are neither a JSON number nor a string of digits the field accepts. */
const BAD_CODES: Array<['authCode' | 'otp', string, unknown]> = [
  ...(['authCode', 'otp'] as const).flatMap((field) =>
    (
      [
        ['true', true],
        ['false', false],
        ['an object', { value: '123456' }],
        ['an empty object', {}],
        ['an array', ['123456']],
        ['null', null],
        ['a negative number', -123456],
        ['minus one', -1],
        ['a float', 1234.5],
        ['a huge exponent number', 1e21],
        ['an exponent string', '1e5'],
        ['letters', 'abcdef'],
        ['digits and a letter', '12345a'],
        ['a leading space', ' 123456'],
        ['a leading +', '+123456'],
        ['a leading -', '-123456'],
        ['hex', '0x1E240'],
        ['a decimal string', '1234.5'],
        ['Arabic-Indic digits', '٣٣٣٣٣٣'],
        ['full-width digits', '１２３４５６'],
        ['an emoji', '123😀456'],
        ['an empty string', ''],
        ['SQL', "' OR 1=1 --"],
        ['a script tag', '<script>alert(1)</script>'],
      ] as Array<[string, unknown]>
    ).map(([label, value]): ['authCode' | 'otp', string, unknown] => [field, label, value]),
  ),
  ['authCode', 'a 16-digit string', '1234567890123456'],
  ['authCode', 'a 16-digit number', 1234567890123456],
  ['authCode', 'a number beyond 2^53', 2 ** 53 + 2],
  ['otp', 'an 11-digit string', '12345678901'],
  ['otp', 'an 11-digit number', 12345678901],
];

describe('input validation: body, fields, tokens', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
    now = () => Math.floor(t.clock.now().getTime() / 1000);
  });

  afterAll(async () => {
    await t.close();
  });

  /** A POST as a fresh partner user (so no per-user send limit is ever reached) unless told otherwise. */
  const post = (
    path: string,
    body: unknown,
    headers: Headers = { 'user-jwt-token': newPartnerUser().token },
  ) => call(t, 'POST', path, { body, headers });

  /** Registers and verifies: the user ends linked to the phone. */
  async function linkedUser() {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = new OtpClient(t, user.token);
    expect((await app.register(phone.national)).status).toBe(200);
    const sent = lastCodeFor(t.messagesFile, phone.e164);
    expect((await app.verify(phone.national, sent.authCode, sent.code)).status).toBe(200);
    return { ...user, phone };
  }

  describe('the body as a whole', () => {
    const BODIES: Array<[string, (post: Post) => unknown]> = [
      ['no body', () => undefined],
      ['no body under a JSON content type', () => ''],
      ['JSON null', () => 'null'],
      ['an empty array', () => '[]'],
      ['an array holding a valid body', (p) => JSON.stringify([validBody(p)])],
      ['a JSON string', () => '"9876543219"'],
      ['a JSON number', () => '9876543219'],
      ['JSON true', () => 'true'],
      ['an empty object', () => '{}'],
    ];

    it.each(
      POSTS.flatMap((p) =>
        BODIES.map(([label, body]) => ({ endpoint: p.endpoint, label, p, body })),
      ),
    )(
      '$endpoint with $label → 400 VALIDATION_FAILED naming every required field',
      async ({ p, body }) => {
        const res = await leavesNoTrace(t, () => post(p.path, body(p)));
        expectInvalidFields(res, ...p.fields);
      },
    );

    it.each(POSTS)('$endpoint with malformed JSON → 400 VALIDATION_FAILED', async (p) => {
      for (const body of ['{"phone_number":', "{'phone_number':'9876543219'}", '{"a":1,}']) {
        const res = await leavesNoTrace(t, () => post(p.path, body));
        expectError(res, 400, 'VALIDATION_FAILED');
      }
    });

    it.each(POSTS)('$endpoint with a body over 16 KiB → 413 PAYLOAD_TOO_LARGE', async (p) => {
      const body = { ...validBody(p), padding: 'x'.repeat(17 * 1024) };
      const res = await leavesNoTrace(t, () => post(p.path, body));
      expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('16 KiB exactly is accepted; one byte more is 413', async () => {
      const sized = (bytes: number) => {
        const body = { ...validBody(POSTS[0]), padding: '' };
        body.padding = 'x'.repeat(bytes - JSON.stringify(body).length);
        const text = JSON.stringify(body);
        expect(Buffer.byteLength(text)).toBe(bytes);
        return text;
      };
      expect((await post(REGISTER, sized(16 * 1024))).status).toBe(200);
      const over = await leavesNoTrace(t, () => post(REGISTER, sized(16 * 1024 + 1)));
      expectError(over, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('unknown fields are ignored: they neither fail the request nor change whose it is', async () => {
      const user = newPartnerUser();
      const phone = uniquePhone();
      const extras = {
        isAdmin: true,
        userId: 'someone-else',
        user_id: 'someone-else',
        client_id: 'other-client',
        clientId: 'other-client',
        status: 'verified',
        attempts: -100,
        code: '000000',
        nested: { deep: [1, 2, { three: 3 }] },
      };
      const headers = { 'user-jwt-token': user.token };
      const registered = await post(
        REGISTER,
        { phone_number: phone.national, countryCode: '+91', ...extras },
        headers,
      );
      expect(registered.status).toBe(200);
      const rows = await t.dataSource.query<Json[]>(
        `SELECT client_id, user_id, status, attempts FROM otp_challenges WHERE auth_code = $1`,
        [registered.body.authCode],
      );
      expect(rows).toEqual([
        { client_id: user.clientId, user_id: user.userId, status: 'pending', attempts: 0 },
      ]);

      const sent = lastCodeFor(t.messagesFile, phone.e164);
      const verified = await post(
        VERIFY,
        {
          phone_number: phone.national,
          countryCode: '+91',
          authCode: sent.authCode,
          otp: sent.code,
          ...extras,
          phoneUserId: '00000000-0000-0000-0000-000000000000',
          isNewUser: false,
        },
        headers,
      );
      expect(verified.status).toBe(200);
      expect(verified.body).toEqual({
        message: 'Users linked successfully',
        userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        isNewUser: true,
        verificationToken: expect.any(String),
      });
      expect(verified.body.userId).not.toBe('00000000-0000-0000-0000-000000000000');
      const linked = await call(t, 'GET', `${LINKED}?userId=someone-else`, { headers });
      expect(linked.body).toMatchObject({ UserID: user.userId, LinkedPhone: phone.national });
    });

    // All bodies are JSON (spec §3): no form parser; another content type is 415.
    it('an application/x-www-form-urlencoded body is refused', async () => {
      const phone = uniquePhone();
      const res = await leavesNoTrace(t, () =>
        post(REGISTER, `phone_number=${phone.national}&countryCode=%2B91`, {
          'user-jwt-token': newPartnerUser().token,
          'content-type': 'application/x-www-form-urlencoded',
        }),
      );
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it.each([
      ['text/plain', '{"phone_number":"9876543219","countryCode":"+91"}'],
      ['application/xml', '<phone_number>9876543219</phone_number>'],
      ['multipart/form-data; boundary=x', '--x\r\n\r\n--x--'],
    ])('a %s body → 415 UNSUPPORTED_MEDIA_TYPE', async (contentType, body) => {
      const res = await leavesNoTrace(t, () =>
        post(REGISTER, body, {
          'user-jwt-token': newPartnerUser().token,
          'content-type': contentType,
        }),
      );
      expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('prototype keys: refused or ignored, never obeyed', () => {
    const valid = () => `"phone_number":"${uniquePhone().national}","countryCode":"+91"`;
    it.each([
      ['__proto__ at the top', () => `{"__proto__":{"polluted":true},${valid()}}`, 400],
      [
        '__proto__ in an unknown field',
        () => `{"x":{"__proto__":{"polluted":true}},${valid()}}`,
        400,
      ],
      [
        '__proto__ as phone_number',
        () => `{"phone_number":{"__proto__":{"polluted":true}},"countryCode":"+91"}`,
        400,
      ],
      [
        'constructor.prototype',
        () => `{"constructor":{"prototype":{"polluted":true}},${valid()}}`,
        400,
      ],
      ['a constructor key', () => `{"constructor":{"name":"polluted"},${valid()}}`, 200],
      ['a constructor string', () => `{"constructor":"polluted",${valid()}}`, 200],
      ['a prototype key', () => `{"prototype":{"polluted":true},${valid()}}`, 200],
      [
        'toString, valueOf and hasOwnProperty keys',
        () => `{"toString":1,"valueOf":"x","hasOwnProperty":null,${valid()}}`,
        200,
      ],
    ])('%s → %d', async (_label, body, status) => {
      const before = await footprint(t);
      const res = await post(REGISTER, body());
      expect(res.status).toBe(status);
      if (status === 200) {
        expect(res.body.authCode).toEqual(expect.stringMatching(/^\d+$/));
        expect((await footprint(t)).sent).toBe(before.sent + 1);
      } else {
        expectError(res, 400, 'VALIDATION_FAILED');
        expect(await footprint(t)).toEqual(before);
      }
      expect(({} as Json).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      // The app still answers normally afterwards.
      expect((await call(t, 'GET', CONFIG)).status).toBe(200);
    });
  });

  // Nesting is bounded when the body is parsed, before validation could recurse into it.
  describe('deeply nested JSON', () => {
    const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    it.each([
      ['as the whole body', () => deep(3000), [400]],
      ['as phone_number', () => `{"phone_number":${deep(3000)},"countryCode":"+91"}`, [400]],
      [
        'as nested objects in phone_number',
        () => `{"phone_number":${'{"a":'.repeat(2500)}1${'}'.repeat(2500)},"countryCode":"+91"}`,
        [400],
      ],
      // Unknown fields are ignored (200), or the depth refused (400): either, but not 500.
      [
        'in an unknown field',
        () => `{"phone_number":"${uniquePhone().national}","countryCode":"+91","x":${deep(3000)}}`,
        [200, 400],
      ],
    ])('%s is answered without a 500', async (_label, body, statuses) => {
      const text = body();
      expect(text.length).toBeLessThan(16 * 1024);
      const res = await http(t.url, 'POST', REGISTER, {
        body: text,
        headers: { 'user-jwt-token': newPartnerUser().token },
      });
      expectNoLeak(res);
      expect(statuses).toContain(res.status);
      if (res.status === 400) expectError(res, 400, 'VALIDATION_FAILED');
    });

    it('nesting in an unknown field is ignored up to the bound, and refused past it', async () => {
      const register = (x: unknown) =>
        post(REGISTER, { phone_number: uniquePhone().national, countryCode: '+91', x });
      expect((await register(JSON.parse(deep(10)))).status).toBe(200);
      const tooDeep = await register(JSON.parse(deep(1000)));
      expectError(tooDeep, 400, 'VALIDATION_FAILED');
      expect(tooDeep.body.message).toMatch(/nested deeper than \d+ levels/);
    });
  });

  describe('fields', () => {
    it.each(POSTS.flatMap((p) => p.fields.map((field) => ({ endpoint: p.endpoint, field, p }))))(
      '$endpoint without $field → VALIDATION_FAILED naming it',
      async ({ p, field }) => {
        const body = validBody(p);
        delete body[field];
        const res = await leavesNoTrace(t, () => post(p.path, body));
        expectInvalidFields(res, field);
      },
    );

    const WRONG_TYPES: Array<[string, (valid: string) => unknown]> = [
      ['a number', (valid) => Number(valid.replace('+', ''))],
      ['true', () => true],
      ['false', () => false],
      ['an object', (valid) => ({ value: valid })],
      ['an array', (valid) => [valid]],
      ['null', () => null],
    ];
    it.each(
      POSTS.flatMap((p) =>
        (['phone_number', 'countryCode'] as const).flatMap((field) =>
          WRONG_TYPES.map(([label, value]) => ({ endpoint: p.endpoint, field, label, p, value })),
        ),
      ),
    )(
      '$endpoint with $field as $label → VALIDATION_FAILED naming it',
      async ({ p, field, value }) => {
        const body = validBody(p);
        body[field] = value(body[field] as string);
        const res = await leavesNoTrace(t, () => post(p.path, body));
        expectInvalidFields(res, field);
      },
    );

    it.each(
      POSTS.flatMap((p) =>
        BAD_PHONE_NUMBERS.map(([label, value]) => ({ endpoint: p.endpoint, label, p, value })),
      ),
    )('$endpoint with phone_number of $label → VALIDATION_FAILED', async ({ p, value }) => {
      const res = await leavesNoTrace(t, () =>
        post(p.path, { ...validBody(p), phone_number: value }),
      );
      expectInvalidFields(res, 'phone_number');
    });

    it.each(
      POSTS.flatMap((p) =>
        BAD_COUNTRY_CODES.map(([label, value]) => ({ endpoint: p.endpoint, label, p, value })),
      ),
    )('$endpoint with countryCode of $label → VALIDATION_FAILED', async ({ p, value }) => {
      const res = await leavesNoTrace(t, () =>
        post(p.path, { ...validBody(p), countryCode: value }),
      );
      expectInvalidFields(res, 'countryCode');
    });

    it.each(BAD_CODES)('verify with %s as %s → VALIDATION_FAILED', async (field, _label, value) => {
      const body = { ...validBody(POSTS[2]), [field]: value };
      const res = await leavesNoTrace(t, () => post(VERIFY, body));
      expectInvalidFields(res, field);
    });

    it('verify names every bad field at once', async () => {
      const res = await leavesNoTrace(t, () =>
        post(VERIFY, { phone_number: 'x', countryCode: 'y', authCode: true, otp: 'z' }),
      );
      expectInvalidFields(res, 'phone_number', 'countryCode', 'authCode', 'otp');
    });

    it.each([
      ['a digit string', '12345678', '123456'],
      ['JSON numbers', 12345678, 123456],
      ['a leading-zero otp', '12345678', '000001'],
      ['numeric zero', 12345678, 0],
    ])('verify accepts authCode and otp as %s (then: no such challenge)', async (_l, a, o) => {
      const res = await leavesNoTrace(t, () =>
        post(VERIFY, { ...validBody(POSTS[2]), authCode: a, otp: o }),
      );
      expectError(res, 404, 'OTP_NOT_FOUND');
    });

    it.each([
      ['+91', '+91'],
      ['91', '91'],
    ])('countryCode %s is accepted', async (_label, countryCode) => {
      const phone = uniquePhone();
      const res = await post(REGISTER, { phone_number: phone.national, countryCode });
      expect(res.status).toBe(200);
      expect(lastCodeFor(t.messagesFile, phone.e164).authCode).toBe(res.body.authCode);
    });

    it.each([
      ['dashes and a space', (n: string) => `${n.slice(0, 5)}-${n.slice(5, 7)} ${n.slice(7)}`],
      ['a space', (n: string) => `${n.slice(0, 5)} ${n.slice(5)}`],
      ['a dash between every digit', (n: string) => n.split('').join('-')],
      ['runs of separators', (n: string) => `${n.slice(0, 3)} -- ${n.slice(3, 6)}  ${n.slice(6)}`],
      ['a trunk 0', (n: string) => `0${n}`],
    ])('phone_number with %s is accepted and normalised', async (_label, format) => {
      const phone = uniquePhone();
      const written = format(phone.national);
      const res = await post(REGISTER, { phone_number: written, countryCode: '+91' });
      expect(res.status).toBe(200);
      expect(lastCodeFor(t.messagesFile, phone.e164).authCode).toBe(res.body.authCode);
    });

    it('verify and resend normalise the phone the same way as register', async () => {
      const user = newPartnerUser();
      const phone = uniquePhone();
      const n = phone.national;
      const headers = { 'user-jwt-token': user.token };
      const registered = await post(REGISTER, { phone_number: n, countryCode: '91' }, headers);
      t.clock.advance(31);
      const resent = await post(
        RESEND,
        { phone_number: `${n.slice(0, 5)} ${n.slice(5)}`, countryCode: '+91' },
        headers,
      );
      expect(resent.status).toBe(200);
      expect(resent.body.authCode).toBe(registered.body.authCode);
      const sent = lastCodeFor(t.messagesFile, phone.e164);
      const verified = await post(
        VERIFY,
        {
          phone_number: `${n.slice(0, 5)}-${n.slice(5, 7)} ${n.slice(7)}`,
          countryCode: '+91',
          authCode: Number(sent.authCode),
          otp: sent.code,
        },
        headers,
      );
      expect(verified.status).toBe(200);
    });

    // Spaces and dashes are stripped anywhere (spec §3), leading and trailing ones too.
    it.each([
      ['a trailing space', (n: string) => `${n} `],
      ['a leading space', (n: string) => ` ${n}`],
      ['a leading dash', (n: string) => `-${n}`],
    ])('phone_number with %s is accepted', async (_label, format) => {
      const phone = uniquePhone();
      const res = await post(REGISTER, {
        phone_number: format(phone.national),
        countryCode: '+91',
      });
      expect(res.status).toBe(200);
    });

    it('resend accepts and ignores an authCode of any type', async () => {
      for (const authCode of [
        "' OR 1=1 --",
        { $gt: '' },
        ['1'],
        true,
        -1,
        '<script>alert(1)</script>',
        'x'.repeat(10_000),
      ]) {
        const phone = uniquePhone();
        const res = await post(RESEND, {
          phone_number: phone.national,
          countryCode: '+91',
          authCode,
        });
        expect(res.status).toBe(200);
        expect(res.body.authCode).toEqual(expect.stringMatching(/^[1-9]\d{3,14}$/));
        expect(lastCodeFor(t.messagesFile, phone.e164).authCode).toBe(res.body.authCode);
      }
    });
  });

  describe('tokens', () => {
    it.each(
      PROTECTED.flatMap((target) =>
        BAD_TOKENS.map(([label, make, message]) => ({
          endpoint: target.endpoint,
          label,
          target,
          make,
          message,
        })),
      ),
    )('$endpoint with $label → 401 UN_AUTHORIZED', async ({ target, make, message }) => {
      const { headers, token: bad } = make();
      const body = target.post ? validBody(target.post) : undefined;
      const res = await leavesNoTrace(t, () =>
        call(t, target.method, target.path, { headers, body }),
      );
      expectUnauthorized(res, bad);
      expect(res.body.message).toMatch(message);
    });

    it('a token in Authorization: Bearer works on every endpoint', async () => {
      const user = newPartnerUser();
      const phone = uniquePhone();
      const headers = { authorization: `Bearer ${user.token}` };
      const body = { phone_number: phone.national, countryCode: '+91' };
      const registered = await call(t, 'POST', REGISTER, { headers, body });
      expect(registered.status).toBe(200);
      t.clock.advance(31);
      const resent = await call(t, 'POST', RESEND, {
        headers: { authorization: `bearer  ${user.token}` },
        body,
      });
      expect(resent.status).toBe(200);
      const sent = lastCodeFor(t.messagesFile, phone.e164);
      const verified = await call(t, 'POST', VERIFY, {
        headers,
        body: { ...body, authCode: sent.authCode, otp: sent.code },
      });
      expect(verified.status).toBe(200);
      const linked = await call(t, 'GET', LINKED, { headers });
      expect(linked.status).toBe(200);
      expect(linked.body).toMatchObject({ UserID: user.userId, LinkedPhone: phone.national });
    });

    it.each([
      ['expired 10 s ago (inside the leeway)', () => signed(claims({ exp: now() - 10 }))],
      ['an iat 10 s in the future', () => signed(claims({ iat: now() + 10 }))],
      [
        'the client#user namespaced form',
        () => {
          const payload = claims();
          return signed({
            ...payload,
            namespaced_third_party_user_id: `${String(payload.client_id)}#${String(payload.sub)}`,
          });
        },
      ],
      ['no namespaced id', () => signed(claims({ namespaced_third_party_user_id: undefined }))],
      [
        'client_id and sub only',
        () =>
          signed(
            claims({
              third_party_client_id: undefined,
              user_id: undefined,
              namespaced_third_party_user_id: undefined,
            }),
          ),
      ],
    ])('a token with %s is accepted', async (_label, make) => {
      const res = await call(t, 'GET', LINKED, { headers: { 'user-jwt-token': make() } });
      expectError(res, 404, 'RECORD_NOT_FOUND');
    });

    it('GET linked-mobile-number ignores hostile query strings', async () => {
      const user = await linkedUser();
      for (const query of [
        "?phone_number=' OR 1=1 --",
        '?userId=someone-else&clientId=other',
        '?__proto__[polluted]=1&constructor[prototype][polluted]=1',
        `?a=${'x'.repeat(4000)}`,
        '?<script>=1',
      ]) {
        const res = await leavesNoTrace(t, () =>
          call(t, 'GET', `${LINKED}${query}`, { headers: { 'user-jwt-token': user.token } }),
        );
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ UserID: user.userId, LinkedPhone: user.phone.national });
      }
      expect(({} as Json).polluted).toBeUndefined();
    });
  });

  describe('check order (spec §5)', () => {
    const BAD_BODY = { phone_number: 12, countryCode: 'abc', authCode: true, otp: {} };

    it.each(PROTECTED)('$endpoint: a bad token and a bad body → 401', async (target) => {
      const bad = partnerToken({}, { secret: 'not-the-partner-secret' });
      const res = await leavesNoTrace(t, () =>
        call(t, target.method, target.path, {
          headers: { 'user-jwt-token': bad },
          body: target.post ? BAD_BODY : undefined,
        }),
      );
      expectUnauthorized(res, bad);
    });

    it.each(POSTS)('$endpoint: no token and an invalid phone → 401', async (p) => {
      const res = await leavesNoTrace(t, () =>
        post(p.path, { ...validBody(p), phone_number: '12345' }, {}),
      );
      expectUnauthorized(res);
    });

    it.each(POSTS)('$endpoint: body size comes before the token → 413', async (p) => {
      const res = await leavesNoTrace(t, () =>
        post(p.path, { ...validBody(p), padding: 'x'.repeat(17 * 1024) }, {}),
      );
      expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it.each(POSTS)('$endpoint: JSON syntax comes before the token → 400', async (p) => {
      const res = await leavesNoTrace(t, () =>
        post(p.path, '{"phone_number":', { 'user-jwt-token': 'not-a-jwt' }),
      );
      expectError(res, 400, 'VALIDATION_FAILED');
    });

    const INVALID_PHONES: Array<[string, string, string]> = [
      ['too short for India', '+91', '12345'],
      ['too long for India', '+91', '98765432190'],
      ['calling code +0', '+0', '9876543219'],
      ['calling code +091', '+091', '9876543219'],
      ['unassigned calling code +999', '+999', '9876543219'],
      ['UK premium rate (blocked type)', '+44', '9098790123'],
      ['UK shared cost (blocked type)', '+44', '8451234567'],
      ['US toll-free (blocked type)', '+1', '8002345678'],
      ['US toll-free written with dashes', '1', '800-234-5678'],
    ];
    it.each(
      POSTS.flatMap((p) =>
        INVALID_PHONES.map(([label, countryCode, national]) => ({
          endpoint: p.endpoint,
          label,
          p,
          countryCode,
          national,
        })),
      ),
    )('$endpoint with $label → 400 INVALID_PHONE', async ({ p, countryCode, national }) => {
      const res = await leavesNoTrace(t, () =>
        post(p.path, { ...validBody(p), countryCode, phone_number: national }),
      );
      expectError(res, 400, 'INVALID_PHONE');
    });

    it('a linked user: validation and INVALID_PHONE answer before ACCOUNT_ALREADY_LINKED', async () => {
      const user = await linkedUser();
      const headers = { 'user-jwt-token': user.token };
      for (const p of POSTS) {
        const invalid = await leavesNoTrace(t, () =>
          post(p.path, { ...validBody(p), phone_number: '12345' }, headers),
        );
        expectError(invalid, 400, 'INVALID_PHONE');
        const blocked = await leavesNoTrace(t, () =>
          post(
            p.path,
            { ...validBody(p), countryCode: '+44', phone_number: '9098790123' },
            headers,
          ),
        );
        expectError(blocked, 400, 'INVALID_PHONE');
        const malformed = await leavesNoTrace(t, () =>
          post(p.path, { ...validBody(p), phone_number: 'abc' }, headers),
        );
        expectInvalidFields(malformed, 'phone_number');
        // ... and a valid phone meets the conflict.
        const conflict = await leavesNoTrace(t, () => post(p.path, validBody(p), headers));
        expectError(conflict, 409, 'ACCOUNT_ALREADY_LINKED');
      }
    });
  });

  describe('GET /fe/users/auth/otp/config', () => {
    it('needs no token and answers the configured values', async () => {
      const res = await call(t, 'GET', CONFIG);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        otpLength: 6,
        expiresIn: 300,
        resendAfter: 30,
        maxAttempts: 5,
        allowedCountryCodes: [],
      });
    });

    it('its patterns agree with what the API accepts', async () => {
      const res = await call(t, 'GET', CONFIG);
      const countryCode = new RegExp(res.body.countryCodePattern as string);
      const phoneNumber = new RegExp(res.body.phoneNumberPattern as string);
      expect(['+91', '91', '+1', '+998'].every((code) => countryCode.test(code))).toBe(true);
      expect(['+', '+1234', 'abc', '++91'].some((code) => countryCode.test(code))).toBe(false);
      expect(['98765-43 219', '9876543219'].every((n) => phoneNumber.test(n))).toBe(true);
      expect(['abc', '+919876543219', '٩٨٧٦٥٤٣٢١٩'].some((n) => phoneNumber.test(n))).toBe(false);
    });

    it.each([
      ['a broken token', { 'user-jwt-token': 'not-a-jwt' }, ''],
      ['an expired token', { 'user-jwt-token': signed(claims({ exp: now() - 3600 })) }, ''],
      ['a hostile query string', {}, "?otpLength=1&allowedCountryCodes=' OR 1=1 --"],
      ['a prototype query string', {}, '?__proto__[otpLength]=1'],
    ])('answers the same with %s', async (_label, headers, query) => {
      const plain = await call(t, 'GET', CONFIG);
      const res = await leavesNoTrace(t, () => call(t, 'GET', `${CONFIG}${query}`, { headers }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(plain.body);
    });

    it('other methods are 405 METHOD_NOT_ALLOWED', async () => {
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const res = await call(t, method, CONFIG, { body: method === 'DELETE' ? undefined : {} });
        expectError(res, 405, 'METHOD_NOT_ALLOWED');
        expect(res.headers.allow).toBe('GET, HEAD');
      }
    });
  });
});

describe('input validation: country allow-list (ALLOWED_COUNTRY_CODES=+44)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      ALLOWED_COUNTRY_CODES: '+44',
      OTP_LENGTH: '8',
      OTP_TTL_SECONDS: '120',
      OTP_RESEND_COOLDOWN_SECONDS: '45',
      OTP_MAX_ATTEMPTS: '3',
    });
  });

  afterAll(async () => {
    await t.close();
  });

  let ukCounter = 0;
  /** A distinct valid UK mobile number (7400 xxxxxx). */
  const ukMobile = () => {
    ukCounter += 1;
    const national = `7400${String((process.pid * 100 + ukCounter) % 1_000_000).padStart(6, '0')}`;
    return { national, e164: `+44${national}` };
  };

  const post = (path: string, body: unknown, token = newPartnerUser().token) =>
    call(t, 'POST', path, { body, headers: { 'user-jwt-token': token } });

  it('GET config answers this app’s values', async () => {
    const res = await call(t, 'GET', CONFIG);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      otpLength: 8,
      expiresIn: 120,
      resendAfter: 45,
      maxAttempts: 3,
      allowedCountryCodes: ['+44'],
    });
  });

  it.each(['+44', '44'])('an allowed country (%s) works', async (countryCode) => {
    const phone = ukMobile();
    const res = await post(REGISTER, { phone_number: phone.national, countryCode });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ expiresIn: 120, resendAfter: 45, attemptsLeft: 3 });
    expect(lastCodeFor(t.messagesFile, phone.e164).code).toMatch(/^\d{8}$/);
  });

  it.each(POSTS)(
    '$endpoint: a bad body in a country not allowed → VALIDATION_FAILED',
    async (p) => {
      const res = await leavesNoTrace(t, () =>
        post(p.path, { ...validBody(p), phone_number: 'abc', countryCode: '+91' }),
      );
      expectInvalidFields(res, 'phone_number');
    },
  );

  it.each(
    POSTS.flatMap((p) =>
      [
        ['an invalid number', '+91', '12345'],
        ['a valid number', '+91', '9876543219'],
        ['a code without +', '91', '9876543219'],
        ['a blocked type', '+1', '8002345678'],
        ['an unassigned code', '+999', '12345'],
      ].map(([label, countryCode, national]) => ({
        endpoint: p.endpoint,
        label,
        p,
        countryCode,
        national,
      })),
    ),
  )(
    '$endpoint: $label in a country not allowed → 403 COUNTRY_NOT_ALLOWED',
    async ({ p, countryCode, national }) => {
      const res = await leavesNoTrace(t, () =>
        post(p.path, { ...validBody(p), countryCode, phone_number: national }),
      );
      expectError(res, 403, 'COUNTRY_NOT_ALLOWED');
    },
  );

  it.each(POSTS)(
    '$endpoint: an invalid number in an allowed country → INVALID_PHONE',
    async (p) => {
      for (const national of ['12345', '9098790123']) {
        const res = await leavesNoTrace(t, () =>
          post(p.path, { ...validBody(p), countryCode: '+44', phone_number: national }),
        );
        expectError(res, 400, 'INVALID_PHONE');
      }
    },
  );

  it.each(POSTS)('$endpoint: a bad token in a country not allowed → 401', async (p) => {
    const res = await leavesNoTrace(t, () =>
      post(p.path, { ...validBody(p), countryCode: '+91' }, 'not-a-jwt'),
    );
    expectUnauthorized(res);
  });

  it('a linked user: COUNTRY_NOT_ALLOWED and INVALID_PHONE answer before ACCOUNT_ALREADY_LINKED', async () => {
    const user = newPartnerUser();
    const phone = ukMobile();
    expect(
      (await post(REGISTER, { phone_number: phone.national, countryCode: '+44' }, user.token))
        .status,
    ).toBe(200);
    const sent = lastCodeFor(t.messagesFile, phone.e164);
    const verified = await post(
      VERIFY,
      { phone_number: phone.national, countryCode: '+44', authCode: sent.authCode, otp: sent.code },
      user.token,
    );
    expect(verified.status).toBe(200);

    for (const p of POSTS) {
      const notAllowed = await leavesNoTrace(t, () =>
        post(p.path, { ...validBody(p), countryCode: '+91' }, user.token),
      );
      expectError(notAllowed, 403, 'COUNTRY_NOT_ALLOWED');
      const invalid = await leavesNoTrace(t, () =>
        post(p.path, { ...validBody(p), countryCode: '+44', phone_number: '12345' }, user.token),
      );
      expectError(invalid, 400, 'INVALID_PHONE');
      const conflict = await leavesNoTrace(t, () =>
        post(
          p.path,
          { ...validBody(p), countryCode: '+44', phone_number: ukMobile().national },
          user.token,
        ),
      );
      expectError(conflict, 409, 'ACCOUNT_ALREADY_LINKED');
    }
  });
});
