import type { TwilioConfig } from '@app/config';
import { startTwilioFake, TwilioFake } from '../../../../test/support/twilio-fake';
import { failureOf } from '../../../../test/support/failure-of';
import { OutgoingMessage, PermanentDeliveryError } from '../notifier';
import { TwilioNotifier } from './twilio.notifier';

const TO = '+14155550123';
const FROM = '+15005550006';
const BODY = 'Your otp-link code is 493817';

function message(overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return { id: 'outbox-1', channel: 'sms', to: TO, body: BODY, code: '493817', ...overrides };
}

/** Resolves to what send() threw, failing the test if it did not throw. */
describe('TwilioNotifier', () => {
  let fake: TwilioFake;

  beforeAll(async () => {
    fake = await startTwilioFake();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  function notifier(overrides: Partial<TwilioConfig> = {}, timeoutMs = 2000): TwilioNotifier {
    return new TwilioNotifier(
      {
        accountSid: fake.accountSid,
        authToken: fake.authToken,
        from: FROM,
        apiUrl: fake.url,
        ...overrides,
      },
      timeoutMs,
    );
  }

  /** The error message must be safe to log: no secret, no message text, no full number. */
  function expectNoSecrets(error: Error): void {
    expect(error.message).not.toContain(fake.authToken);
    expect(error.message).not.toContain(BODY);
    expect(error.message).not.toContain('493817');
    expect(error.message).not.toContain(TO);
    expect(error.message).not.toContain(TO.slice(1));
  }

  it('posts the message to the account Messages endpoint of the configured base URL', async () => {
    const receipt = await notifier().send(message());

    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`/2010-04-01/Accounts/${fake.accountSid}/Messages.json`);
    expect(request.username).toBe(fake.accountSid);
    expect(request.password).toBe(fake.authToken);
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request.form).toEqual({ To: TO, From: FROM, Body: BODY });
    expect(receipt.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(receipt.providerMessageId).toBe(fake.messages[0].sid);
  });

  it('sends a Messaging Service SID as MessagingServiceSid instead of From', async () => {
    const service = 'MG' + 'a'.repeat(32);

    await notifier({ from: service }).send(message());

    expect(fake.requests[0].form).toEqual({ To: TO, MessagingServiceSid: service, Body: BODY });
  });

  it('keeps a path prefix of the base URL', async () => {
    // The fake only serves the root path, so this send gets a 404; only the request path matters.
    await notifier({ apiUrl: `${fake.url}/twilio/` })
      .send(message())
      .catch(() => undefined);

    expect(fake.requests[0].path).toBe(
      `/twilio/2010-04-01/Accounts/${fake.accountSid}/Messages.json`,
    );
  });

  it.each([
    [400, 21211, "The 'To' number +14155550123 is not a valid phone number."],
    [400, 21610, 'Attempt to send to unsubscribed recipient'],
    [400, 21614, "'To' number +14155550123 is not a valid mobile number"],
  ])('turns HTTP %i with code %i into a PermanentDeliveryError', async (status, code, text) => {
    fake.respondWith(TwilioFake.error(status, code, text));

    const error = await failureOf(notifier().send(message()));

    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect((error as PermanentDeliveryError).providerCode).toBe(String(code));
    expect(error.message).toContain(String(code));
    expectNoSecrets(error);
  });

  it.each([
    ['a 500', TwilioFake.error(500, 20500, 'Internal Server Error'), 'HTTP 500'],
    ['a 503 without a body', { status: 503 }, 'HTTP 503'],
    ['a 429', TwilioFake.error(429, 20429, 'Too Many Requests'), 'HTTP 429'],
    ['an unknown 400 code', TwilioFake.error(400, 21606, 'From is not SMS-capable'), '21606'],
    // A permanent code on a 5xx is Twilio having trouble, not a verdict on the number.
    ['a permanent code on a 5xx', TwilioFake.error(500, 21211, 'odd'), 'HTTP 500'],
  ])('treats %s as transient', async (_label, response, expected) => {
    fake.respondWith(response);

    const error = await failureOf(notifier().send(message()));

    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toContain(expected);
    expectNoSecrets(error);
  });

  it('treats rejected credentials (20003) as transient without leaking the token', async () => {
    const error = await failureOf(notifier({ authToken: 'wrong-secret-token' }).send(message()));

    expect(fake.requests[0].password).toBe('wrong-secret-token');
    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toContain('HTTP 401');
    expect(error.message).toContain('20003');
    expect(error.message).not.toContain('wrong-secret-token');
  });

  it('gives up on a response slower than the timeout, as a transient error', async () => {
    fake.respondWith({ status: 201, delayMs: 3000 });

    const started = Date.now();
    const error = await failureOf(notifier({}, 200).send(message()));

    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(2500);
    expectNoSecrets(error);
  });

  it('reports a refused connection as transient', async () => {
    const closed = await startTwilioFake();
    const url = closed.url;
    await closed.close();

    const error = await failureOf(notifier({ apiUrl: url }).send(message()));

    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toContain('ECONNREFUSED');
    expectNoSecrets(error);
  });

  it('does not send when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();

    const error = await failureOf(notifier().send(message(), controller.signal));

    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(fake.requests).toHaveLength(0);
  });

  it('abandons the request when the signal aborts mid-flight', async () => {
    fake.respondWith({ status: 201, delayMs: 3000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    const error = await failureOf(notifier({}, 5000).send(message(), controller.signal));

    expect(error.message).toMatch(/aborted/);
    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
  });

  it('refuses channels it does not serve (email, telegram) for good', async () => {
    for (const channel of ['email', 'telegram'] as const) {
      const error = await failureOf(notifier().send(message({ channel })));
      expect(error).toBeInstanceOf(PermanentDeliveryError);
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a channel whose sender is not configured, without a request', async () => {
    const error = await failureOf(notifier().send(message({ channel: 'whatsapp' })));

    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(fake.requests).toHaveLength(0);
  });

  // Found by what they are, not by position: a request an earlier test aborted mid-flight can
  // reach the fake late, on a loaded machine.
  const whatsappRequest = () => {
    const found = fake.requests.find((request) => request.form.To?.startsWith('whatsapp:'));
    if (!found) throw new Error('no WhatsApp request at the fake');
    return found;
  };
  const callRequest = () => {
    const found = fake.requests.find((request) => request.path.endsWith('/Calls.json'));
    if (!found) throw new Error('no call request at the fake');
    return found;
  };

  describe('whatsapp', () => {
    const WHATSAPP_FROM = 'whatsapp:+14155238886';

    it('sends a session message to the whatsapp: address from the whatsapp: sender', async () => {
      const receipt = await notifier({ whatsappFrom: WHATSAPP_FROM }).send(
        message({ channel: 'whatsapp' }),
      );

      const request = whatsappRequest();
      expect(request.path).toBe(`/2010-04-01/Accounts/${fake.accountSid}/Messages.json`);
      expect(request.username).toBe(fake.accountSid);
      expect(request.form).toEqual({ To: `whatsapp:${TO}`, From: WHATSAPP_FROM, Body: BODY });
      // The receipt names the message the fake accepted for this address (by id, not position).
      const accepted = fake.messages.find((sent) => sent.sid === receipt.providerMessageId);
      expect(accepted?.to).toBe(`whatsapp:${TO}`);
    });

    it('sends the approved content template with the code as variable 1 when one is set', async () => {
      const contentSid = 'HX' + 'b'.repeat(32);

      await notifier({ whatsappFrom: WHATSAPP_FROM, whatsappContentSid: contentSid }).send(
        message({ channel: 'whatsapp' }),
      );

      const { form } = whatsappRequest();
      expect(form).toEqual({
        To: `whatsapp:${TO}`,
        From: WHATSAPP_FROM,
        ContentSid: contentSid,
        ContentVariables: JSON.stringify({ 1: '493817' }),
      });
      expect(form.Body).toBeUndefined();
    });

    it('sends from a Messaging Service when the sender is one', async () => {
      const service = 'MG' + 'c'.repeat(32);

      await notifier({ whatsappFrom: service }).send(message({ channel: 'whatsapp' }));

      expect(whatsappRequest().form).toEqual({
        To: `whatsapp:${TO}`,
        MessagingServiceSid: service,
        Body: BODY,
      });
    });

    it('turns 63024 (not a WhatsApp recipient) into a PermanentDeliveryError', async () => {
      fake.respondWith(TwilioFake.error(400, 63024, 'Invalid message recipient'));

      const error = await failureOf(
        notifier({ whatsappFrom: WHATSAPP_FROM }).send(message({ channel: 'whatsapp' })),
      );

      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expectNoSecrets(error);
    });
  });

  describe('voice', () => {
    const VOICE_FROM = '+15005550007';
    const PURPOSE = 'Hello. This is your Ludo verification code.';

    it('creates a call whose TwiML says the purpose, then the code digit by digit, twice', async () => {
      const receipt = await notifier({ voiceFrom: VOICE_FROM }).send(
        message({ channel: 'voice', body: PURPOSE, locale: 'en' }),
      );

      const request = callRequest();
      expect(request.path).toBe(`/2010-04-01/Accounts/${fake.accountSid}/Calls.json`);
      expect(request.username).toBe(fake.accountSid);
      expect(request.password).toBe(fake.authToken);
      expect(request.form.To).toBe(TO);
      expect(request.form.From).toBe(VOICE_FROM);
      expect(receipt.providerMessageId).toBe(fake.calls[0].sid);
      expect(receipt.providerMessageId).toMatch(/^CA[0-9a-f]{32}$/);

      const twiml = request.form.Twiml;
      const says = [...twiml.matchAll(/<Say language="([^"]+)">([^<]*)<\/Say>/g)];
      expect(says.map((say) => say[1])).toEqual(Array(13).fill('en-US'));
      expect(says.map((say) => say[2])).toEqual([PURPOSE, ...'493817', ...'493817']);
      expect(twiml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Response>/);
      // A pause between digits, and a longer one before the code is said again.
      expect(twiml).toContain('<Say language="en-US">4</Say><Pause length="1"/><Say');
      expect(twiml).toContain('<Say language="en-US">7</Say><Pause length="2"/><Say');
    });

    it.each([
      ['hi', 'hi-IN'],
      ['es', 'es-ES'],
      ['pt', 'pt-BR'],
      ['id', 'id-ID'],
      ['xx', 'en-US'],
      [undefined, 'en-US'],
    ])('says a %s text in %s', async (locale, language) => {
      await notifier({ voiceFrom: VOICE_FROM }).send(message({ channel: 'voice', locale }));

      const languages = [...callRequest().form.Twiml.matchAll(/<Say language="([^"]*)">/g)];
      expect(new Set(languages.map((say) => say[1]))).toEqual(new Set([language]));
    });

    it('escapes the text it says (an app name with markup stays text)', async () => {
      await notifier({ voiceFrom: VOICE_FROM }).send(
        message({ channel: 'voice', body: 'Your <Play>http://x</Play> & "code"' }),
      );

      const twiml = callRequest().form.Twiml;
      expect(twiml).not.toContain('<Play>');
      expect(twiml).toContain('Your &lt;Play&gt;http://x&lt;/Play&gt; &amp; &quot;code&quot;');
    });

    it('calls from TWILIO_FROM when no voice caller id is set', async () => {
      await notifier().send(message({ channel: 'voice' }));

      expect(callRequest().form.From).toBe(FROM);
    });

    it('refuses a call without a code of digits, without a request', async () => {
      const error = await failureOf(
        notifier().send(message({ channel: 'voice', code: undefined })),
      );

      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(fake.requests).toHaveLength(0);
    });

    it('turns a blocked destination (21216) into a PermanentDeliveryError', async () => {
      fake.respondWith(TwilioFake.error(400, 21216, 'Call blocked'));

      const error = await failureOf(notifier().send(message({ channel: 'voice' })));

      expect(error).toBeInstanceOf(PermanentDeliveryError);
    });
  });

  it('asks for delivery receipts on messages and calls when a status callback URL is set', async () => {
    const statusCallbackUrl = 'https://otp.example.com/hooks/twilio/status';
    const twilioNotifier = notifier({ statusCallbackUrl });

    await twilioNotifier.send(message());
    await twilioNotifier.send(message({ channel: 'voice' }));

    const sms = fake.requests.filter((request) => request.path.endsWith('/Messages.json')).pop();
    expect(sms?.form.StatusCallback).toBe(statusCallbackUrl);
    expect(callRequest().form.StatusCallback).toBe(statusCallbackUrl);
    expect(new URLSearchParams(callRequest().rawBody).getAll('StatusCallbackEvent')).toEqual([
      'initiated',
      'ringing',
      'answered',
      'completed',
    ]);
  });

  it('refuses to start without credentials', () => {
    expect(() => notifier({ authToken: undefined })).toThrow(/authToken/);
    expect(() => notifier({ from: undefined })).toThrow(/sender/);
  });
});
