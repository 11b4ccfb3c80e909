import { OutboxService } from '@app/notifications';
import { http, HttpResult } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';
import { uniquePhone } from '../support/otp-client';
import { newPartnerUser } from '../support/tokens';
import { RecordedRequest, startTwilioFake, TwilioFake } from '../support/twilio-fake';

/**
 * The phone channels of /fe (CHANNELS.md) end to end: register with `channel` and `locale` →
 * the request on the wire at a loopback fake of Twilio's API → verify with the code it carried.
 * WhatsApp and SMS go to the Messages API, voice to the Calls API with TwiML. Runs on the
 * embedded database and on PostgreSQL.
 */

const FROM = '+15005550006';
const WHATSAPP_FROM = 'whatsapp:+14155238886';
const VOICE_FROM = '+15005550007';
const REGISTER = '/fe/users/auth/otp/register';
const RESEND = '/fe/users/auth/otp/resend';
const VERIFY = '/fe/users/auth/otp/verify';

/** The code a request carried: in a text's body, or read out digit by digit in a call. */
function codeIn(request: RecordedRequest): string {
  if (request.form.Twiml !== undefined) {
    const digits = [...request.form.Twiml.matchAll(/<Say language="[^"]+">(\d)<\/Say>/g)];
    const said = digits.map((say) => say[1]).join('');
    // Said twice.
    expect(said.length % 2).toBe(0);
    expect(said.slice(0, said.length / 2)).toBe(said.slice(said.length / 2));
    return said.slice(0, said.length / 2);
  }
  const match = /(?<!\d)(\d{6})(?!\d)/.exec(request.form.Body ?? '');
  if (!match) throw new Error('the message carries no 6-digit code');
  return match[1];
}

describe('Channels on /fe: WhatsApp and voice through Twilio, localised texts', () => {
  let fake: TwilioFake;
  let t: TestApp;

  beforeAll(async () => {
    fake = await startTwilioFake();
    t = await startTestApp({
      NOTIFY_CHANNELS: 'sms,whatsapp,voice',
      NOTIFY_DRIVER: 'twilio',
      TWILIO_API_URL: fake.url,
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_FROM: FROM,
      TWILIO_WHATSAPP_FROM: WHATSAPP_FROM,
      TWILIO_VOICE_FROM: VOICE_FROM,
      OTP_MAX_CALLS_PER_PHONE_PER_HOUR: '2',
      BLOCKED_NUMBER_TYPES: 'none',
    });
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  function post(
    path: string,
    token: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<HttpResult> {
    return http(t.url, 'POST', path, { headers: { 'user-jwt-token': token, ...headers }, body });
  }

  async function verifyWith(token: string, national: string, sent: HttpResult, code: string) {
    return post(VERIFY, token, {
      phone_number: national,
      countryCode: '+91',
      authCode: sent.body.authCode,
      otp: code,
    });
  }

  it('has no receipts endpoint without PUBLIC_URL (404)', async () => {
    const answer = await http(t.url, 'POST', '/hooks/twilio/status', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'x' },
      body: 'MessageSid=SM1&MessageStatus=delivered',
    });
    expect(answer.status).toBe(404);
    expect(fake.requests.every((request) => request.form.StatusCallback === undefined)).toBe(true);
  });

  it('lists the enabled channels and the locales in the config endpoint', async () => {
    const config = await http(t.url, 'GET', '/fe/users/auth/otp/config');
    expect(config.status).toBe(200);
    expect(config.body.channels).toEqual(['sms', 'whatsapp', 'voice']);
    expect(config.body.locales).toEqual(['en', 'hi', 'es', 'pt', 'id']);
  });

  it('WhatsApp: register → a whatsapp: message at Twilio → verify links', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();

    const sent = await post(REGISTER, token, {
      phone_number: phone.national,
      countryCode: '+91',
      channel: 'whatsapp',
    });

    expect(sent.status).toBe(200);
    expect(sent.body.channel).toBe('whatsapp');
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request.path).toBe(`/2010-04-01/Accounts/${fake.accountSid}/Messages.json`);
    expect(request.username).toBe(fake.accountSid);
    expect(request.password).toBe(fake.authToken);
    expect(request.form.To).toBe(`whatsapp:${phone.e164}`);
    expect(request.form.From).toBe(WHATSAPP_FROM);
    const code = codeIn(request);
    expect(request.form.Body.startsWith(code)).toBe(true);

    const verified = await verifyWith(token, phone.national, sent, code);
    expect(verified.status).toBe(200);
    expect(verified.body.message).toBe('Users linked successfully');

    const [row] = await t.dataSource.query<Array<{ channel: string; status: string }>>(
      `SELECT channel, status FROM outbox_messages WHERE recipient = $1`,
      [phone.e164],
    );
    expect(row).toEqual({ channel: 'whatsapp', status: 'sent' });
  });

  it('voice: register → a call whose TwiML reads the code twice in the locale → verify links', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();

    const sent = await post(REGISTER, token, {
      phone_number: phone.national,
      countryCode: '+91',
      channel: 'voice',
      locale: 'hi-IN',
    });

    expect(sent.status).toBe(200);
    expect(sent.body.channel).toBe('voice');
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request.path).toBe(`/2010-04-01/Accounts/${fake.accountSid}/Calls.json`);
    expect(request.form.To).toBe(phone.e164);
    expect(request.form.From).toBe(VOICE_FROM);
    expect(request.form.Twiml).toContain('<Say language="hi-IN">नमस्ते।');
    expect(request.form.Twiml).not.toContain('en-US');
    expect(fake.calls).toHaveLength(1);

    const verified = await verifyWith(token, phone.national, sent, codeIn(request));
    expect(verified.status).toBe(200);
  });

  it('picks the text by locale: the body first, else Accept-Language, else English', async () => {
    const texts: string[] = [];
    for (const [locale, header] of [
      ['es-MX', 'hi'],
      [undefined, 'fr-FR, pt-BR;q=0.8'],
      [undefined, undefined],
      ['fr', 'hi'],
    ] as const) {
      const { token } = newPartnerUser();
      const sent = await post(
        REGISTER,
        token,
        { phone_number: uniquePhone().national, countryCode: '+91', locale },
        header ? { 'accept-language': header } : {},
      );
      expect(sent.status).toBe(200);
      texts.push(fake.requests.pop()?.form.Body ?? '');
    }
    expect(texts[0]).toMatch(/^\d{6} es tu clave para vincular tu teléfono a /);
    expect(texts[1]).toMatch(/^\d{6} é o seu PIN para vincular seu telefone a /);
    expect(texts[2]).toMatch(/^\d{6} is your verification code/);
    // A locale in the body wins, even one without texts (then English, not the header's).
    expect(texts[3]).toMatch(/^\d{6} is your verification code/);
  });

  it('resend takes a channel too: the same challenge, a fresh code by call', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();
    const first = await post(REGISTER, token, { phone_number: phone.national, countryCode: '+91' });
    expect(first.status).toBe(200);
    t.clock.advance(31);

    const again = await post(RESEND, token, {
      phone_number: phone.national,
      countryCode: '+91',
      channel: 'voice',
      authCode: first.body.authCode,
    });

    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ channel: 'voice', authCode: first.body.authCode });
    expect(fake.requests.map((request) => request.path.split('/').pop())).toEqual([
      'Messages.json',
      'Calls.json',
    ]);
    const verified = await verifyWith(token, phone.national, again, codeIn(fake.requests[1]));
    expect(verified.status).toBe(200);
  });

  it('caps voice calls per phone per hour on their own; SMS to the phone still goes', async () => {
    const phone = uniquePhone();
    const answers: number[] = [];
    for (let call = 0; call < 3; call++) {
      const { token } = newPartnerUser();
      const sent = await post(REGISTER, token, {
        phone_number: phone.national,
        countryCode: '+91',
        channel: 'voice',
      });
      answers.push(sent.status);
      if (sent.status === 429) {
        expect(sent.body).toMatchObject({ error: 'RATE_LIMITED' });
        expect(String(sent.body.message)).toContain('voice call');
        expect(Number(sent.headers['retry-after'])).toBeGreaterThan(0);
      }
    }
    expect(answers).toEqual([200, 200, 429]);
    expect(fake.calls).toHaveLength(2);

    const { token } = newPartnerUser();
    const bySms = await post(REGISTER, token, { phone_number: phone.national, countryCode: '+91' });
    expect(bySms.status).toBe(200);
  });

  it('never calls a premium-rate or personal number, even with BLOCKED_NUMBER_TYPES=none', async () => {
    for (const [countryCode, national] of [
      ['+44', '9098790000'], // PREMIUM_RATE
      ['+44', '7012345678'], // PERSONAL_NUMBER
    ]) {
      const { token } = newPartnerUser();
      const call = await post(REGISTER, token, {
        phone_number: national,
        countryCode,
        channel: 'voice',
      });
      expect(call.status).toBe(400);
      expect(call.body.error).toBe('INVALID_PHONE');

      // The service allows these types by SMS here (BLOCKED_NUMBER_TYPES=none).
      const sms = await post(REGISTER, token, { phone_number: national, countryCode });
      expect(sms.status).toBe(200);
    }
    expect(fake.calls).toHaveLength(0);
  });

  it.each([
    ['email', 'cannot send to a phone'],
    ['telegram', 'cannot send to a phone'],
  ])('refuses channel %s on a phone with 400 CHANNEL_NOT_AVAILABLE', async (channel, message) => {
    const { token } = newPartnerUser();
    const answer = await post(REGISTER, token, {
      phone_number: uniquePhone().national,
      countryCode: '+91',
      channel,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('CHANNEL_NOT_AVAILABLE');
    expect(String(answer.body.message)).toContain(message);
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ['channel', JSON.stringify('fax'), 'fax'],
    ['channel', JSON.stringify('SMS'), 'SMS'],
    ['channel', JSON.stringify(5), 5],
    ['channel', JSON.stringify(['sms']), ['sms']],
    ['channel', JSON.stringify({ sms: true }), { sms: true }],
    ['channel', '10 000 characters', 'x'.repeat(10_000)],
    ['channel', JSON.stringify('sms\u0000'), 'sms\u0000'],
    ['channel', JSON.stringify(''), ''],
    ['locale', JSON.stringify(12), 12],
    ['locale', JSON.stringify(''), ''],
    ['locale', 'a 43-character tag', 'en-' + 'x'.repeat(40)],
    ['locale', JSON.stringify('<script>alert(1)</script>'), '<script>alert(1)</script>'],
    [
      'locale',
      JSON.stringify("es'; DROP TABLE otp_challenges; --"),
      "es'; DROP TABLE otp_challenges; --",
    ],
    ['locale', JSON.stringify(['en']), ['en']],
    ['locale', JSON.stringify('../../etc/passwd'), '../../etc/passwd'],
  ])('refuses %s = %s with 400 VALIDATION_FAILED on that field', async (field, _label, value) => {
    const { token } = newPartnerUser();
    for (const path of [REGISTER, RESEND]) {
      const answer = await post(path, token, {
        phone_number: uniquePhone().national,
        countryCode: '+91',
        [field]: value,
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('VALIDATION_FAILED');
      const details = answer.body.details as Array<{ field: string }>;
      expect(details.map((detail) => detail.field)).toContain(field);
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('tolerates a hostile Accept-Language (English, no error)', async () => {
    const { token } = newPartnerUser();
    const sent = await post(
      REGISTER,
      token,
      { phone_number: uniquePhone().national, countryCode: '+91' },
      { 'accept-language': `${'x;q=0.5,'.repeat(500)}<script>` },
    );
    expect(sent.status).toBe(200);
    expect(fake.requests[0].form.Body).toMatch(/^\d{6} is your verification code/);
  });

  it('retries a WhatsApp message that met a 5xx from the outbox, with the same code', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();
    fake.respondWith({ status: 503 });

    const sent = await post(REGISTER, token, {
      phone_number: phone.national,
      countryCode: '+91',
      channel: 'whatsapp',
    });
    expect(sent.status).toBe(200);
    expect(fake.messages).toHaveLength(0);

    const outbox = t.app.get(OutboxService);
    t.clock.advance(10);
    const deadline = Date.now() + 10_000;
    while (fake.messages.length === 0 && Date.now() < deadline) {
      await outbox.deliverDue();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(fake.messages).toHaveLength(1);
    const [first, second] = fake.requests;
    const { ValidityPeriod: firstValidity, ...firstForm } = first.form;
    const { ValidityPeriod: secondValidity, ...secondForm } = second.form;
    expect(secondForm).toEqual(firstForm);
    expect(Number(secondValidity)).toBeLessThan(Number(firstValidity));
    const verified = await verifyWith(token, phone.national, sent, codeIn(second));
    expect(verified.status).toBe(200);
  });

  it('answers 422 PHONE_UNDELIVERABLE when WhatsApp refuses the recipient for good', async () => {
    const { token } = newPartnerUser();
    fake.respondWith(TwilioFakeError(63024));

    const sent = await post(REGISTER, token, {
      phone_number: uniquePhone().national,
      countryCode: '+91',
      channel: 'whatsapp',
    });

    expect(sent.status).toBe(422);
    expect(sent.body.error).toBe('PHONE_UNDELIVERABLE');
  });
});

function TwilioFakeError(code: number) {
  return { status: 400, body: { code, message: 'refused', more_info: '', status: 400 } };
}

describe('Channels on /fe: only the enabled ones', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ NOTIFY_CHANNELS: 'sms' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses whatsapp and voice with 400 CHANNEL_NOT_AVAILABLE when they are not enabled', async () => {
    for (const channel of ['whatsapp', 'voice']) {
      const { token } = newPartnerUser();
      const answer = await http(t.url, 'POST', REGISTER, {
        headers: { 'user-jwt-token': token },
        body: { phone_number: uniquePhone().national, countryCode: '+91', channel },
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'CHANNEL_NOT_AVAILABLE' });
      expect(String(answer.body.message)).toBe(`channel ${channel} is not enabled; use one of sms`);
    }
    const config = await http(t.url, 'GET', '/fe/users/auth/otp/config');
    expect(config.body.channels).toEqual(['sms']);
  });

  it('sends by SMS without a channel, as before, with the locale on the file line', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();
    const answer = await http(t.url, 'POST', REGISTER, {
      headers: { 'user-jwt-token': token, 'accept-language': 'id-ID' },
      body: { phone_number: phone.national, countryCode: '+91' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.channel).toBe('sms');
    const { readFileSync } = await import('node:fs');
    const line = JSON.parse(
      readFileSync(t.messagesFile, 'utf8').trim().split('\n').pop() ?? '{}',
    ) as Record<string, unknown>;
    expect(line).toMatchObject({ channel: 'sms', to: phone.e164, locale: 'id' });
    expect(String(line.body)).toMatch(/^\d{6} adalah kode verifikasi/);
  });
});
