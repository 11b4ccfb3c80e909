import { startTestApp, TestApp } from '../../../test/support/test-app';
import { lastCodeFor, uniquePhone, wrongCode } from '../../../test/support/otp-client';
import { newPartnerUser } from '../../../test/support/tokens';
import { createOtpLinkClient, OtpLinkClient, OtpLinkError } from '../src';

/** What a call threw (it must throw). */
async function failureOf(promise: Promise<unknown>): Promise<OtpLinkError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OtpLinkError);
    return error as OtpLinkError;
  }
  throw new Error('the call did not fail');
}

/** @otp-link/client against the real service: every call, every error shape it maps. */
describe('@otp-link/client against the service', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ OTP_RESEND_COOLDOWN_SECONDS: '30' });
  });

  afterAll(async () => {
    await t.close();
  });

  const clientFor = (token: string | (() => Promise<string>)): OtpLinkClient =>
    createOtpLinkClient({ baseUrl: `${t.url}/`, token });

  it('reads the form settings without a token', async () => {
    const config = await createOtpLinkClient({ baseUrl: t.url }).config();
    expect(config).toMatchObject({ otpLength: 6, resendAfter: 30, maxAttempts: 5 });
    expect(config.allCountriesAllowed).toBe(true);
  });

  it('registers, counts wrong codes, refuses an early resend, verifies and shows the link', async () => {
    const { token, userId } = newPartnerUser();
    // A token provider is asked on each call.
    const provider = jest.fn(async () => token);
    const client = clientFor(provider);
    const phone = uniquePhone();
    const body = { countryCode: '+91', phone_number: phone.national };
    expect(await client.linkedNumber()).toBeNull();

    const sent = await client.register(body);
    expect(sent).toMatchObject({ isNewUser: true, expiresIn: 300, resendAfter: 30 });
    const { code } = lastCodeFor(t.messagesFile, phone.e164);

    const wrong = await failureOf(
      client.verify({ ...body, authCode: sent.authCode, otp: wrongCode(code) }),
    );
    expect(wrong).toMatchObject({ code: 'INVALID_OTP', status: 400, attemptsLeft: 4 });
    expect(wrong.needsNewCode).toBe(false);
    expect(wrong.requestId).toMatch(/\S/);

    const early = await failureOf(client.resend({ ...body, authCode: sent.authCode }));
    expect(early).toMatchObject({ code: 'RESEND_TOO_SOON', status: 429 });
    expect(early.retryAfter).toBeGreaterThan(0);
    expect(early.retryAfter).toBeLessThanOrEqual(30);

    const verified = await client.verify({ ...body, authCode: sent.authCode, otp: code });
    expect(verified).toMatchObject({ message: 'Users linked successfully', isNewUser: true });
    expect(await client.linkedNumber()).toMatchObject({
      UserID: userId,
      LinkedPhone: phone.national,
      CountryCode: '+91',
      PhoneUserId: verified.userId,
    });
    expect(provider.mock.calls.length).toBeGreaterThanOrEqual(6);

    const again = await failureOf(client.register(body));
    expect(again).toMatchObject({ code: 'ACCOUNT_ALREADY_LINKED', status: 409 });

    expect(await client.unlink()).toEqual({ message: expect.any(String) });
    expect(await client.linkedNumber()).toBeNull();
  });

  it('gives the validation problems, a bad token and an unknown challenge as codes', async () => {
    const client = clientFor(newPartnerUser().token);
    const invalid = await failureOf(
      client.register({ countryCode: '+91', phone_number: 'not digits' }),
    );
    expect(invalid.code).toBe('VALIDATION_FAILED');
    expect(invalid.details).toEqual([
      expect.objectContaining({ field: 'phone_number', message: expect.any(String) }),
    ]);
    expect(
      (await failureOf(client.register({ countryCode: '+91', phone_number: '12345' }))).code,
    ).toBe('INVALID_PHONE');
    const phone = uniquePhone();
    const unknown = await failureOf(
      client.verify({
        countryCode: '+91',
        phone_number: phone.national,
        authCode: '12345678',
        otp: '123456',
      }),
    );
    expect(unknown).toMatchObject({ code: 'OTP_NOT_FOUND', needsNewCode: true });

    const forged = await failureOf(clientFor('e30.e30.c2ln').linkedNumber());
    expect(forged).toMatchObject({ code: 'UN_AUTHORIZED', status: 401 });
    const none = await failureOf(createOtpLinkClient({ baseUrl: t.url }).linkedNumber());
    expect(none).toMatchObject({ code: 'UN_AUTHORIZED', status: 0 });
  });

  it('says NETWORK_ERROR when nothing answers and BAD_RESPONSE for a body that is not JSON', async () => {
    const down = createOtpLinkClient({ baseUrl: 'http://127.0.0.1:9', token: 'x' });
    const network = await failureOf(down.config());
    expect(network).toMatchObject({ code: 'NETWORK_ERROR', status: 0 });
    expect(network.cause).toBeDefined();

    const proxyPage = createOtpLinkClient({
      token: 'x',
      fetch: async () =>
        new Response('<html>502 Bad Gateway</html>', {
          status: 502,
          headers: { 'content-type': 'text/html', 'retry-after': '7' },
        }),
    });
    expect(await failureOf(proxyPage.config())).toMatchObject({
      code: 'BAD_RESPONSE',
      status: 502,
    });
    const emptyOk = createOtpLinkClient({ fetch: async () => new Response('', { status: 200 }) });
    expect(await failureOf(emptyOk.config())).toMatchObject({ code: 'BAD_RESPONSE', status: 200 });
  });

  it('takes retryAfter from the Retry-After header when the body has none, and passes the signal', async () => {
    const seen: RequestInit[] = [];
    const client = createOtpLinkClient({
      baseUrl: 'https://otp.example',
      token: async () => 'tok',
      headers: { 'accept-language': 'hi' },
      fetch: async (url, init) => {
        seen.push({ ...init, body: `${url as string} ${init?.body as string}` });
        return new Response(
          JSON.stringify({ statusCode: 429, error: 'RATE_LIMITED', message: 'slow down' }),
          { status: 429, headers: { 'retry-after': '42', 'x-request-id': 'req-1' } },
        );
      },
    });
    const controller = new AbortController();
    const limited = await failureOf(
      client.resend(
        { countryCode: '+91', phone_number: '9876543219' },
        { signal: controller.signal },
      ),
    );
    expect(limited).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfter: 42,
      requestId: 'req-1',
      message: 'slow down',
    });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      signal: controller.signal,
      headers: {
        'user-jwt-token': 'tok',
        'content-type': 'application/json',
        'accept-language': 'hi',
      },
    });
    expect(seen[0].body).toBe(
      'https://otp.example/fe/users/auth/otp/resend {"countryCode":"+91","phone_number":"9876543219"}',
    );
  });
});
