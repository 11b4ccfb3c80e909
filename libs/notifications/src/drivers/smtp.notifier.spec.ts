import type { EmailConfig } from '@app/config';
import { decodeHeader, SmtpSink, startSmtpSink } from '../../../../test/support/smtp-sink';
import { failureOf } from '../../../../test/support/failure-of';
import { OutgoingMessage, PermanentDeliveryError } from '../notifier';
import { messageContent } from '../templates/message-text';
import { emailHtml, SmtpNotifier } from './smtp.notifier';

const FROM = 'Ludo <no-reply@ludo.example>';
const TO = 'asha.rao@example.com';

function message(overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  const content = messageContent('email', {
    code: '493817',
    ttlSeconds: 300,
    appName: 'Ludo',
    locale: overrides.locale,
  });
  return {
    id: '0b7f6a3e-1111-4222-8333-444455556666',
    channel: 'email',
    to: TO,
    body: content.body,
    subject: content.subject,
    locale: content.locale,
    code: '493817',
    ...overrides,
  };
}

describe('SmtpNotifier (against a real SMTP server on loopback)', () => {
  let sink: SmtpSink;
  const notifiers: SmtpNotifier[] = [];

  beforeEach(async () => {
    sink = await startSmtpSink({ user: 'mailer', password: 'smtp-secret-pass' });
  });
  afterEach(async () => {
    for (const notifier of notifiers.splice(0)) await notifier.onModuleDestroy();
    await sink.close();
  });

  function notifier(overrides: Partial<EmailConfig> = {}, timeoutMs = 3000): SmtpNotifier {
    const made = new SmtpNotifier(
      { driver: 'smtp', smtpUrl: sink.url, from: FROM, ...overrides },
      timeoutMs,
    );
    notifiers.push(made);
    return made;
  }

  it('delivers over STARTTLS with authentication: envelope, subject, text and HTML, code first', async () => {
    const receipt = await notifier().send(message());

    expect(sink.mails).toHaveLength(1);
    const [mail] = sink.mails;
    expect(mail.secure).toBe(true);
    expect(mail.user).toBe('mailer');
    expect(mail.from).toBe('no-reply@ludo.example');
    expect(mail.to).toEqual([TO]);
    expect(mail.headers.from).toBe('Ludo <no-reply@ludo.example>');
    expect(mail.headers.to).toBe(TO);
    expect(decodeHeader(mail.headers.subject)).toBe('493817 is your Ludo verification code');
    expect(mail.headers['content-type']).toMatch(/^multipart\/alternative/);
    expect(mail.parts['text/plain'].split('\n')[0]).toBe('493817');
    expect(mail.parts['text/plain']).toContain('It expires in 5 min.');
    expect(mail.parts['text/html']).toMatch(
      /^<!doctype html><html lang="en"><body><p[^>]*>493817<\/p>/,
    );
    expect(receipt.providerMessageId).toMatch(/^<.+@.+>$/);
    expect(mail.headers['message-id']).toBe(receipt.providerMessageId);
  });

  it('sends a localised email (Hindi subject and text survive the encodings)', async () => {
    await notifier().send(message({ locale: 'hi' }));

    const [mail] = sink.mails;
    expect(decodeHeader(mail.headers.subject)).toBe('493817 आपका Ludo सत्यापन कोड है');
    expect(mail.parts['text/plain']).toContain('सत्यापन कोड');
    expect(mail.parts['text/html']).toContain('<html lang="hi">');
  });

  it("sends a caller's own HTML part as given (the OTP API's `html`), beside its text", async () => {
    await notifier().send(
      message({ body: 'Code 493817', subject: 'Hello', html: '<p>Code <b>493817</b></p>' }),
    );

    const [mail] = sink.mails;
    expect(decodeHeader(mail.headers.subject)).toBe('Hello');
    expect(mail.parts['text/plain']).toBe('Code 493817');
    expect(mail.parts['text/html']).toBe('<p>Code <b>493817</b></p>');
  });

  it('escapes the text in the HTML part', () => {
    expect(emailHtml('1234\n\n<script>alert("x")</script> & more')).toBe(
      '<!doctype html><html lang="en"><body><p style="font-size:28px;font-weight:bold;letter-spacing:4px">1234</p>' +
        '<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more</p></body></html>',
    );
    expect(emailHtml('1', '"><x')).toContain('lang="&quot;&gt;&lt;x"');
  });

  it('turns a 550 for the recipient into a PermanentDeliveryError that names no address', async () => {
    sink.refuseRecipients(550);

    const error = await failureOf(notifier().send(message()));

    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect((error as PermanentDeliveryError).providerCode).toBe('550');
    expect(error.message).not.toContain(TO);
    expect(error.message).not.toContain('493817');
    expect(sink.mails).toHaveLength(0);
  });

  it('treats a 451 (try later) as transient', async () => {
    sink.refuseRecipients(451);

    const error = await failureOf(notifier().send(message()));

    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toContain('451');
  });

  it('treats wrong credentials as transient (a configuration fault, not the address)', async () => {
    const url = sink.url.replace('smtp-secret-pass', 'wrong-pass');

    const error = await failureOf(notifier({ smtpUrl: url }).send(message()));

    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toContain('EAUTH');
    expect(error.message).not.toContain('wrong-pass');
    expect(sink.mails).toHaveLength(0);
  });

  it('reports a refused connection as transient', async () => {
    const url = sink.url;
    await sink.close();

    const error = await failureOf(notifier({ smtpUrl: url }).send(message()));

    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toMatch(/ESOCKET|ECONNECTION|ECONNREFUSED/);
  });

  it('refuses channels other than email for good, without connecting', async () => {
    const error = await failureOf(notifier().send(message({ channel: 'sms' })));

    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(sink.mails).toHaveLength(0);
  });

  it('refuses to start without a URL or a sender', () => {
    expect(() => new SmtpNotifier({ driver: 'smtp', from: FROM }, 1000)).toThrow(/smtpUrl/);
    expect(() => new SmtpNotifier({ driver: 'smtp', smtpUrl: sink.url }, 1000)).toThrow(/from/);
  });
});
