import { request as httpRequest } from 'node:http';
import { http, HttpResult } from '../support/http';
import { lastCodeFor, OtpClient, uniquePhone, wrongCode } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';
import { newPartnerUser } from '../support/tokens';

const REGISTER = '/fe/users/auth/otp/register';
const VERIFY = '/fe/users/auth/otp/verify';
const LINKED = '/fe/users/account/linked-mobile-number';

/** A request exactly as given: no content type added (fetch adds text/plain to a string body). */
function raw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers as Record<string, string>,
          body: JSON.parse(text) as Record<string, unknown>,
          text,
        }),
      );
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** What a new integrator reads when a request is wrong: the same voice everywhere. */
describe('validation messages, 415 and 405', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  const register = (body: unknown, headers: Record<string, string> = {}) =>
    http(t.url, 'POST', REGISTER, {
      headers: { 'user-jwt-token': newPartnerUser().token, ...headers },
      body,
    });

  it('a missing field "is required", whatever its type', async () => {
    const res = await register({ countryCode: '+91' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'VALIDATION_FAILED',
      message: 'phone_number is required',
      details: [{ field: 'phone_number', message: 'phone_number is required' }],
    });
    const verify = await http(t.url, 'POST', VERIFY, {
      headers: { 'user-jwt-token': newPartnerUser().token },
      body: { phone_number: '9876543219', countryCode: '+91', authCode: null },
    });
    expect(verify.body.details).toEqual([
      { field: 'authCode', message: 'authCode is required' },
      { field: 'otp', message: 'otp is required' },
    ]);
  });

  it('names unknown fields when the request fails, with the field probably meant', async () => {
    const res = await register({ phoneNumber: '9876543219', countryCode: '+91', extra: 1 });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([
      { field: 'phone_number', message: 'phone_number is required' },
      {
        field: 'phoneNumber',
        message: 'phoneNumber is not a field of this request (did you mean phone_number?)',
      },
      { field: 'extra', message: 'extra is not a field of this request' },
    ]);
    expect(res.body.message).toContain('did you mean phone_number?');
  });

  it('still ignores unknown fields of a request that is otherwise right', async () => {
    const res = await register({ phone_number: uniquePhone().national, countryCode: '+91', x: 1 });
    expect(res.status).toBe(200);
  });

  it("says the countryCode's + is optional, and names an unknown calling code", async () => {
    const bad = await register({ phone_number: '9876543219', countryCode: 'India' });
    expect(bad.body.details).toEqual([
      {
        field: 'countryCode',
        message: 'countryCode must be 1-3 digits, with or without a leading + (e.g. +91 or 91)',
      },
    ]);
    for (const countryCode of ['+999', '999']) {
      const unknown = await register({ phone_number: '9876543219', countryCode });
      expect(unknown.body).toEqual({
        statusCode: 400,
        error: 'INVALID_PHONE',
        message: '+999 is not a country calling code',
      });
    }
    // A known calling code with a wrong number keeps the general message.
    expect((await register({ phone_number: '12345', countryCode: '+91' })).body.message).toBe(
      'phone number is not valid',
    );
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE for a body that is not application/json', async () => {
    const json = JSON.stringify({ phone_number: '9876543219', countryCode: '+91' });
    const token = newPartnerUser().token;
    const cases: Array<Record<string, string>> = [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      {}, // no content type at all
    ];
    for (const headers of cases) {
      const res = await raw(t.url, 'POST', REGISTER, { ...headers, 'user-jwt-token': token }, json);
      expect({ headers, status: res.status, body: res.body }).toEqual({
        headers,
        status: 415,
        body: {
          statusCode: 415,
          error: 'UNSUPPORTED_MEDIA_TYPE',
          message: 'request body must be JSON with content-type: application/json',
        },
      });
    }
  });

  it('answers 405 METHOD_NOT_ALLOWED with Allow for a known path, 404 for an unknown one', async () => {
    const get = await http(t.url, 'GET', REGISTER);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(get.body).toEqual({
      statusCode: 405,
      error: 'METHOD_NOT_ALLOWED',
      message: 'GET is not allowed on this path; allowed: POST',
    });
    const put = await http(t.url, 'PUT', LINKED, { body: {} });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('DELETE, GET, HEAD');
    const s2s = await http(t.url, 'POST', '/s2s/users/someone/link');
    expect(s2s.status).toBe(405);
    expect(s2s.headers.allow).toBe('DELETE, GET, HEAD');

    const missing = await http(t.url, 'GET', '/fe/users/auth/otp/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'NOT_FOUND' });
  });

  it('makes "locked" plain on the last wrong code (attemptsLeft 0)', async () => {
    const { token } = newPartnerUser();
    const user = new OtpClient(t, token);
    const phone = uniquePhone();
    const { authCode } = (await user.register(phone.national)).body as { authCode: string };
    const wrong = wrongCode(lastCodeFor(t.messagesFile, phone.e164).code);
    const answers = [];
    for (let i = 0; i < 5; i++)
      answers.push((await user.verify(phone.national, authCode, wrong)).body);
    expect(answers.slice(0, 4).map((body) => [body.attemptsLeft, body.message])).toEqual([
      [4, 'wrong code'],
      [3, 'wrong code'],
      [2, 'wrong code'],
      [1, 'wrong code'],
    ]);
    expect(answers[4]).toEqual({
      statusCode: 400,
      error: 'INVALID_OTP',
      attemptsLeft: 0,
      message: 'wrong code, and it was the last try: this code is now locked; request a new one',
    });
  });
});
