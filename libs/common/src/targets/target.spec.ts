import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';
import {
  CHANNEL_TARGET,
  CHANNELS,
  emailTarget,
  isChannel,
  maskTarget,
  phoneTarget,
  telegramTarget,
} from './target';

function refusal(work: () => unknown): AppError {
  try {
    work();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('targets', () => {
  it('normalises an email address: lower case, the domain in punycode', () => {
    expect(emailTarget('  Asha.Rao@Example.COM ')).toEqual({
      kind: 'email',
      value: 'asha.rao@example.com',
    });
    expect(emailTarget('asha@bücher.example').value).toBe('asha@xn--bcher-kva.example');
  });

  it.each([
    'asha',
    'asha@',
    '@example.com',
    'asha@example',
    'a b@example.com',
    'asha@@example.com',
    'asha@exa mple.com',
    `${'a'.repeat(65)}@example.com`,
    `asha@${'a'.repeat(64)}.com`,
    '<script>@example.com',
    // Control characters and lone surrogates (NUL made PostgreSQL answer 500).
    'a\u0000b@example.com',
    '\u0000asha@example.com',
    'a\u0001b@example.com',
    'a\u007fb@example.com',
    'a\u0085b@example.com',
    '\ud800@example.com',
    'asha\udc00@example.com',
  ])('refuses %j as an email address (VALIDATION_FAILED on the field)', (address) => {
    const error = refusal(() => emailTarget(address, 'to'));
    expect(error.code).toBe(ErrorCode.ValidationFailed);
    expect(error.extra).toEqual({
      details: [{ field: 'to', message: 'to must be an email address' }],
    });
  });

  it('takes Telegram chat ids as integers, groups negative, and nothing else', () => {
    expect(telegramTarget(123456789)).toEqual({ kind: 'telegram', value: '123456789' });
    expect(telegramTarget('-1001234567890').value).toBe('-1001234567890');
    for (const bad of ['0', '01', '12a', '1.5', '', '99999999999999999', ' ']) {
      expect(refusal(() => telegramTarget(bad)).code).toBe(ErrorCode.ValidationFailed);
    }
  });

  it('masks every kind of target for logs and the audit trail', () => {
    expect(maskTarget(phoneTarget('+919876543219'))).toBe('+91******219');
    expect(maskTarget(emailTarget('asha@example.com'))).toBe('a***@example.com');
    expect(maskTarget(telegramTarget('123456789'))).toBe('******789');
  });

  it('knows which kind of target each channel reaches', () => {
    expect(CHANNELS.map((channel) => [channel, CHANNEL_TARGET[channel]])).toEqual([
      ['sms', 'phone'],
      ['whatsapp', 'phone'],
      ['voice', 'phone'],
      ['email', 'email'],
      ['telegram', 'telegram'],
    ]);
    expect(isChannel('voice')).toBe(true);
    expect(isChannel('fax')).toBe(false);
  });
});
