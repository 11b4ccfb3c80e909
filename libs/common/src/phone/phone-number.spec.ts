import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';
import {
  COUNTRY_CODE_PATTERN,
  maskPhone,
  normalizePhone,
  parseE164,
  phoneRegion,
  splitE164,
  PHONE_NUMBER_PATTERN,
  type PhonePolicy,
} from './phone-number';

const OPEN: PhonePolicy = { blockedNumberTypes: [] };
const DEFAULT_BLOCKED: PhonePolicy = {
  blockedNumberTypes: ['PREMIUM_RATE', 'SHARED_COST', 'TOLL_FREE', 'VOIP', 'UAN'],
};

function failure(countryCode: string, phoneNumber: string, policy: PhonePolicy): AppError {
  try {
    normalizePhone(countryCode, phoneNumber, policy);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('normalizePhone did not throw');
}

describe('normalizePhone', () => {
  it.each(['+91', '91'])('normalizes an Indian mobile with country code %s', (code) => {
    expect(normalizePhone(code, '9876543219', DEFAULT_BLOCKED)).toEqual({
      e164: '+919876543219',
      countryCode: '+91',
      nationalNumber: '9876543219',
    });
  });

  it('strips spaces and dashes', () => {
    expect(normalizePhone('+91', '98765 43-219', OPEN).e164).toBe('+919876543219');
    expect(normalizePhone('+91', ' 98765-43219 ', OPEN).e164).toBe('+919876543219');
  });

  it('drops a trunk prefix typed with the national number', () => {
    expect(normalizePhone('+91', '09876543219', OPEN).e164).toBe('+919876543219');
    expect(normalizePhone('44', '07911 123456', OPEN).nationalNumber).toBe('7911123456');
  });

  it('normalizes a UK mobile', () => {
    expect(normalizePhone('+44', '7911 123456', DEFAULT_BLOCKED)).toEqual({
      e164: '+447911123456',
      countryCode: '+44',
      nationalNumber: '7911123456',
    });
  });

  it('accepts a US number libphonenumber calls FIXED_LINE_OR_MOBILE', () => {
    expect(normalizePhone('+1', '201-555-0123', DEFAULT_BLOCKED).e164).toBe('+12015550123');
  });

  it.each([
    ['too short', '+91', '98765', 'phone number is not valid'],
    ['too long', '+91', '98765432190', 'phone number is not valid'],
    ['an impossible prefix', '+91', '5555555555', 'phone number is not valid'],
    ['an unknown calling code', '+999', '12345678', '+999 is not a country calling code'],
    ['an unknown code without +', '999', '12345678', '+999 is not a country calling code'],
    ['a zero calling code', '+0', '12345678', '+0 is not a country calling code'],
  ])('answers INVALID_PHONE for %s', (_name, code, number, message) => {
    const error = failure(code, number, OPEN);
    expect(error.code).toBe(ErrorCode.InvalidPhone);
    expect(error.status).toBe(400);
    expect(error.message).toBe(message);
  });

  it('refuses digits that would slide into another calling code', () => {
    // '+9' + '19876543219' reads as +91 9876543219 unless the calling code is checked.
    expect(failure('+9', '19876543219', OPEN).code).toBe(ErrorCode.InvalidPhone);
  });

  describe('allowed country codes', () => {
    it('refuses a country outside the list', () => {
      const error = failure('+91', '9876543219', { ...OPEN, allowedCountryCodes: ['+44'] });
      expect(error.code).toBe(ErrorCode.CountryNotAllowed);
      expect(error.status).toBe(403);
    });

    it('checks the country before validity', () => {
      const error = failure('+91', '123', { ...OPEN, allowedCountryCodes: ['+44'] });
      expect(error.code).toBe(ErrorCode.CountryNotAllowed);
    });

    it('allows every country without a list, and none with an empty one', () => {
      expect(normalizePhone('+91', '9876543219', OPEN).e164).toBe('+919876543219');
      const error = failure('+91', '9876543219', { ...OPEN, allowedCountryCodes: [] });
      expect(error.code).toBe(ErrorCode.CountryNotAllowed);
    });

    it('accepts a listed country, with or without + on either side', () => {
      expect(
        normalizePhone('91', '9876543219', { ...OPEN, allowedCountryCodes: ['+44', '+91'] }).e164,
      ).toBe('+919876543219');
      expect(
        normalizePhone('+91', '9876543219', { ...OPEN, allowedCountryCodes: ['91'] }).e164,
      ).toBe('+919876543219');
    });
  });

  describe('blocked number types', () => {
    it.each([
      ['a UK premium-rate number', '+44', '909 879 0123'],
      ['a US toll-free number', '+1', '800-234-5678'],
      ['a UK toll-free number', '+44', '800 123 4567'],
      ['a UK VoIP number', '+44', '56 1234 5678'],
      ['a UK UAN number', '+44', '300 123 4567'],
    ])('refuses %s when its type is blocked, accepts it otherwise', (_name, code, number) => {
      const error = failure(code, number, DEFAULT_BLOCKED);
      expect(error.code).toBe(ErrorCode.InvalidPhone);
      expect(error.message).toBe('phone number type is not accepted');
      expect(normalizePhone(code, number, OPEN).countryCode).toBe(code);
    });

    it('matches type names case-insensitively', () => {
      const policy = { ...OPEN, blockedNumberTypes: [' toll_free '] };
      expect(failure('+1', '8002345678', policy).message).toBe('phone number type is not accepted');
    });

    it('refuses only the listed types', () => {
      const policy = { ...OPEN, blockedNumberTypes: ['TOLL_FREE'] };
      expect(normalizePhone('+44', '9098790123', policy).e164).toBe('+449098790123');
    });
  });

  it.each([
    ['countryCode', '+abc', '9876543219'],
    ['countryCode', '+1234', '9876543219'],
    ['phone_number', '+91', '98765x43219'],
    ['phone_number', '+91', ''],
  ])('answers VALIDATION_FAILED on a malformed %s', (field, code, number) => {
    const error = failure(code, number, OPEN);
    expect(error.code).toBe(ErrorCode.ValidationFailed);
    expect(error.extra.details).toEqual([{ field, message: expect.any(String) }]);
  });
});

describe('maskPhone', () => {
  it.each([
    ['+919876543219', '+91******219'],
    ['+447911123456', '+44******456'],
    ['+12015550123', '+1******123'],
    ['+80012345678', '+800******678'],
    ['+91 98765 43219', '+91******219'],
    ['+9112', '+91******'],
    ['9876543219', '******219'],
    ['+999123456', '******456'],
    ['garbage', '******age'],
    ['12', '******'],
    ['', '******'],
  ])('masks %j as %j', (input, masked) => {
    expect(maskPhone(input)).toBe(masked);
  });

  it('never shows more than the calling code and three digits', () => {
    const masked = maskPhone('+919876543219');
    expect(masked.replace(/\*/g, '')).toBe('+91219');
  });
});

describe('one number after another (the parse of the last one is kept)', () => {
  it('reads each number as itself, whichever was parsed before', () => {
    const numbers = [
      { e164: '+18765550123', region: 'JM', masked: '+1******123' },
      { e164: '+12015550123', region: 'US', masked: '+1******123' },
      { e164: '+447400123456', region: 'GB', masked: '+44******456' },
    ];
    for (const round of [1, 2]) {
      for (const { e164, region, masked } of numbers) {
        const national = e164.slice(e164.startsWith('+44') ? 3 : 2);
        const code = e164.slice(0, e164.length - national.length);
        expect([round, normalizePhone(code, national, OPEN).e164]).toEqual([round, e164]);
        expect(phoneRegion(e164)).toBe(region);
        expect(maskPhone(e164)).toBe(masked);
      }
    }
  });
});

describe('DTO patterns', () => {
  it.each(['+91', '91', '+1', '+999'])('COUNTRY_CODE_PATTERN accepts %j', (value) => {
    expect(COUNTRY_CODE_PATTERN.test(value)).toBe(true);
  });

  it.each(['', '+', '+0', '+091', '+1234', '91a', ' +91'])(
    'COUNTRY_CODE_PATTERN refuses %j',
    (value) => {
      expect(COUNTRY_CODE_PATTERN.test(value)).toBe(false);
    },
  );

  it.each([
    '9876543219',
    '98765 43219',
    '98765-43-219',
    '1234',
    '1'.repeat(20),
    ' 9876543219',
    '9876543219-',
  ])('PHONE_NUMBER_PATTERN accepts %j', (value) => {
    expect(PHONE_NUMBER_PATTERN.test(value)).toBe(true);
  });

  it.each(['', '123', '1'.repeat(21), '+919876543219', '98765x43219', ' - ', '12 3'])(
    'PHONE_NUMBER_PATTERN refuses %j',
    (value) => {
      expect(PHONE_NUMBER_PATTERN.test(value)).toBe(false);
    },
  );
});

describe('parseE164', () => {
  it('reads an E.164 number, separators allowed, into the stored form', () => {
    expect(parseE164('+919876543219')).toBe('+919876543219');
    expect(parseE164('+91 98765-43219')).toBe('+919876543219');
  });

  it.each(['919876543219', '+91', '+91123', 'phone', '+919876543219; DROP TABLE links', ''])(
    'refuses %j as VALIDATION_FAILED on the field',
    (text) => {
      let caught: unknown;
      try {
        parseE164(text, 'phone');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).code).toBe(ErrorCode.ValidationFailed);
      expect((caught as AppError).extra.details?.[0].field).toBe('phone');
    },
  );
});

describe('splitE164', () => {
  it.each([
    '+919876543219',
    '+14155552671',
    '+447400123456',
    '+79161234567',
    '+8613812345678',
    '+35312345678',
    '+2348031234567',
    '+80012345678',
  ])('splits %s as libphonenumber parses it', (e164) => {
    const parsed = parsePhoneNumberFromString(e164);
    expect(splitE164(e164)).toEqual({
      countryCode: `+${parsed?.countryCallingCode}`,
      nationalNumber: parsed?.nationalNumber,
    });
  });

  it('keeps what is not a number whole', () => {
    expect(splitE164('+999123')).toEqual({ countryCode: '', nationalNumber: '999123' });
  });
});
