import { messageTemplateProblem, messageText } from './message-text';

const otpMessageText = (parts: Parameters<typeof messageText>[1]) => messageText('sms', parts);

describe('messageText (sms)', () => {
  it('puts the code first and names the app and the lifetime', () => {
    expect(
      otpMessageText({ code: '596097', ttlSeconds: 300, appName: 'Ludo', linksPhone: true }),
    ).toBe(
      '596097 is your verification code to link your phone to Ludo. It expires in 5 min. Never share it.',
    );
    // A sign-in or a backend's code names the app without claiming a link.
    expect(otpMessageText({ code: '596097', ttlSeconds: 300, appName: 'Ludo' })).toBe(
      '596097 is your Ludo verification code. It expires in 5 min. Never share it.',
    );
    expect(otpMessageText({ code: '1234', ttlSeconds: 90 })).toBe(
      '1234 is your verification code to verify your phone. It expires in 90 s. Never share it.',
    );
  });

  it("fills a partner's template, every occurrence of each placeholder", () => {
    const text = otpMessageText({
      code: '596097',
      ttlSeconds: 600,
      appName: 'Ludo King',
      template: '{app}: {code} ({expires}). Code {code}. {unknown} stays',
    });
    expect(text).toBe('Ludo King: 596097 (10 min). Code 596097. {unknown} stays');
  });
});

describe('messageText locales', () => {
  const parts = { code: '596097', ttlSeconds: 300, appName: 'Ludo' };

  it('falls back from a regional locale to its language, then to English', () => {
    const english = messageText('sms', parts);
    expect(messageText('sms', { ...parts, locale: 'en-IN' })).toBe(english);
    expect(messageText('sms', { ...parts, locale: 'EN' })).toBe(english);
    expect(messageText('sms', { ...parts, locale: 'xx-YY' })).toBe(english);
  });

  it("keeps a partner's template whatever the locale", () => {
    expect(messageText('sms', { ...parts, locale: 'hi', template: '{code} for {app}' })).toBe(
      '596097 for Ludo',
    );
  });
});

describe('messageTemplateProblem', () => {
  it.each([
    ['{code} is your {app} code, valid {expires}', undefined],
    ['{app}\n{code}', undefined],
    ['your code', 'template must contain {code}'],
    ['{code} {otp}', 'unknown placeholder {otp}; use {code}, {app}, {expires}'],
    ['{code}\u0007', 'template must not contain control characters'],
    ['{code}' + 'x'.repeat(320), 'template must be at most 320 characters'],
  ])('%j → %j', (template, problem) => {
    expect(messageTemplateProblem(template)).toBe(problem);
  });
});
