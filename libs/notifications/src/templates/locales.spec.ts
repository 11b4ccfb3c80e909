import { CHANNELS } from '@app/common';
import { LOCALES, localeFromAcceptLanguage, resolveLocale } from './locale-texts';
import { messageContent, messageText } from './message-text';
import { smsLength } from './sms-length';

const LONGEST_APP = 'A'.repeat(30); // APP_NAME_MAX of the phone link
const LONGEST_CODE = '1234567890'; // OTP_LENGTH at most 10

describe('SMS texts per locale stay within one segment', () => {
  it.each(LOCALES)('%s', (locale) => {
    for (const [appName, linksPhone] of [
      [undefined, false],
      ['Ludo', true],
      ['Ludo', false],
      [LONGEST_APP, true],
      [LONGEST_APP, false],
    ] as const) {
      for (const ttlSeconds of [90, 300, 86_400]) {
        const text = messageText('sms', {
          code: LONGEST_CODE,
          ttlSeconds,
          appName,
          linksPhone,
          locale,
        });
        const length = smsLength(text);
        // Latin-script texts are GSM-7 (160 a segment), Hindi UCS-2 (70).
        expect(length.encoding).toBe(locale === 'hi' ? 'UCS-2' : 'GSM-7');
        if (locale === 'hi' && appName === LONGEST_APP) {
          // Devanagari with a 30-letter Latin name cannot fit 70 units: two segments at most.
          expect(length.segments).toBeLessThanOrEqual(2);
        } else {
          expect({ text, segments: length.segments }).toEqual({ text, segments: 1 });
        }
      }
    }
  });
});

describe('smsLength', () => {
  it('counts GSM-7 septets, the extension table twice, and UCS-2 code units', () => {
    expect(smsLength('a'.repeat(160))).toEqual({
      encoding: 'GSM-7',
      units: 160,
      singleSegment: 160,
      segments: 1,
    });
    expect(smsLength('a'.repeat(161)).segments).toBe(2);
    expect(smsLength('€'.repeat(80)).units).toBe(160);
    expect(smsLength('é ñ ü').encoding).toBe('GSM-7');
    expect(smsLength('código').encoding).toBe('UCS-2');
    expect(smsLength('क'.repeat(70)).segments).toBe(1);
    expect(smsLength('क'.repeat(71)).segments).toBe(2);
    expect(smsLength('😀'.repeat(35)).units).toBe(70);
  });
});

describe('messageContent', () => {
  const parts = { code: '596097', ttlSeconds: 300, appName: 'Ludo' };

  it('has a text on every channel in every locale, the code in each (a call says it after)', () => {
    for (const channel of CHANNELS) {
      for (const locale of LOCALES) {
        const content = messageContent(channel, { ...parts, locale });
        expect(content.locale).toBe(locale);
        expect(content.body.length).toBeGreaterThan(10);
        if (channel === 'voice') expect(content.body).not.toContain('596097');
        else expect(content.body.startsWith('596097')).toBe(true);
        if (channel === 'email') expect(content.subject?.startsWith('596097')).toBe(true);
        else expect(content.subject).toBeUndefined();
      }
    }
  });

  it('localises: Spanish, Portuguese, Indonesian and Hindi texts differ from English', () => {
    const english = messageContent('sms', parts).body;
    const texts = LOCALES.map((locale) => messageContent('sms', { ...parts, locale }).body);
    expect(new Set(texts).size).toBe(LOCALES.length);
    expect(messageContent('sms', { ...parts, locale: 'es-MX' }).body).toBe(texts[2]);
    expect(messageContent('sms', { ...parts, locale: 'fr' }).body).toBe(english);
  });

  it('ends an SMS with the app hash, then the WebOTP line, only on SMS', () => {
    const sms = messageContent('sms', {
      ...parts,
      webOtpDomain: 'ludo.example',
      appHash: 'FA+9qCX9VSu',
    }).body;
    expect(sms.endsWith('\nFA+9qCX9VSu\n\n@ludo.example #596097')).toBe(true);
    expect(smsLength(sms).segments).toBe(1);
    const whatsapp = messageContent('whatsapp', { ...parts, webOtpDomain: 'ludo.example' });
    expect(whatsapp.body).not.toContain('@ludo.example');
  });

  it("uses a partner's template on text channels only, not for calls or emails", () => {
    const template = '{code} for {app}';
    expect(messageContent('sms', { ...parts, template }).body).toBe('596097 for Ludo');
    expect(messageContent('telegram', { ...parts, template }).body).toBe('596097 for Ludo');
    expect(messageContent('voice', { ...parts, template }).body).not.toContain('596097');
    expect(messageContent('email', { ...parts, template }).body).not.toBe('596097 for Ludo');
  });
});

describe('resolveLocale', () => {
  it.each([
    ['hi', 'hi'],
    ['es-MX', 'es'],
    ['PT_br', 'pt'],
    ['id-ID', 'id'],
    ['fr', 'en'],
    ['', 'en'],
    [undefined, 'en'],
    [null, 'en'],
    ['en-' + 'x'.repeat(100), 'en'],
    ['<script>', 'en'],
    ['es;DROP TABLE', 'en'],
    ['1234', 'en'],
  ])('%j → %s', (tag, locale) => {
    expect(resolveLocale(tag)).toBe(locale);
  });
});

describe('localeFromAcceptLanguage', () => {
  it.each([
    ['hi-IN,hi;q=0.9,en;q=0.8', 'hi'],
    ['fr-FR, es;q=0.7, en;q=0.5', 'es'],
    ['en;q=0.1, pt;q=0.9', 'pt'],
    ['fr, de', undefined],
    ['*', undefined],
    ['es;q=0', undefined],
    ['', undefined],
    [undefined, undefined],
    ['x'.repeat(600), undefined],
  ])('%j → %s', (header, locale) => {
    expect(localeFromAcceptLanguage(header)).toBe(locale);
  });
});
