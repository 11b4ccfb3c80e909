// The `max` metadata: the default `min` set cannot tell number types apart (getType() needs it).
import { parsePhoneNumberFromString, type PhoneNumber } from 'libphonenumber-js/max';
import metadata from 'libphonenumber-js/metadata.max.json';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';

/** `+` (optional) and a 1–3 digit country calling code without a leading zero; for DTOs. */
export const COUNTRY_CODE_PATTERN = /^\+?[1-9]\d{0,2}$/;
/**
 * A national number: 4–20 digits once spaces and dashes (anywhere, spec §3 strips them) are
 * removed; for DTOs.
 */
export const PHONE_NUMBER_PATTERN = /^[ -]*\d(?:[ -]*\d){3,19}[ -]*$/;

// Looser than COUNTRY_CODE_PATTERN on purpose: "+0" or "+091" are well-formed fields (spec §5
// "+ and 1-3 digits") that must reach COUNTRY_NOT_ALLOWED / INVALID_PHONE, not VALIDATION_FAILED.
const COUNTRY_CODE_FIELD = /^\+?\d{1,3}$/;
/** What a `countryCode` field must be: the `+` is optional, as in its pattern. */
export const COUNTRY_CODE_MESSAGE =
  'countryCode must be 1-3 digits, with or without a leading + (e.g. +91 or 91)';
const SEPARATORS = /[\s-]+/g;

export interface PhonePolicy {
  /**
   * Country calling codes like '+91' ('91' is read the same); undefined allows every country,
   * an empty list none.
   */
  allowedCountryCodes?: readonly string[];
  /** libphonenumber type names refused as INVALID_PHONE, e.g. PREMIUM_RATE, TOLL_FREE, VOIP. */
  blockedNumberTypes: string[];
  /** E.164 prefixes refused as INVALID_PHONE, e.g. '+881' (satellite phones). */
  blockedPrefixes?: readonly string[];
}

export interface NormalizedPhone {
  /** '+919876543219' */
  e164: string;
  /** '+91' */
  countryCode: string;
  /** National significant number, without a trunk prefix: '9876543219'. */
  nationalNumber: string;
}

/**
 * libphonenumber's parse of `text`, the last one kept: a register parses its number three times
 * (to check it, for its region, to mask it), and each parse runs dozens of regular expressions.
 * The object is shared: its readers must not change it.
 */
function parse(text: string): PhoneNumber | undefined {
  if (lastParse?.text !== text) lastParse = { text, parsed: parsePhoneNumberFromString(text) };
  return lastParse.parsed;
}
let lastParse: { text: string; parsed: PhoneNumber | undefined } | undefined;

const withPlus = (code: string): string => (code.startsWith('+') ? code : `+${code}`);

function validationFailed(field: string, message: string): AppError {
  return new AppError(ErrorCode.ValidationFailed, { details: [{ field, message }] });
}

/**
 * Turns the `countryCode` + `phone_number` pair of a request into E.164, applying the checks of
 * spec §5 in order: COUNTRY_NOT_ALLOWED, then INVALID_PHONE (libphonenumber validity, then a
 * blocked number type). A trunk prefix typed by the user ('+91' + '09876543219') is dropped.
 */
export function normalizePhone(
  countryCode: string,
  phoneNumber: string,
  policy: PhonePolicy,
): NormalizedPhone {
  // The DTO has validated both already; re-check so a direct caller cannot build odd strings.
  const code = countryCode.trim();
  if (!COUNTRY_CODE_FIELD.test(code)) {
    throw validationFailed('countryCode', COUNTRY_CODE_MESSAGE);
  }
  const national = phoneNumber.replace(SEPARATORS, '');
  if (!/^\d{1,20}$/.test(national)) {
    throw validationFailed('phone_number', 'phone_number must be digits');
  }
  const callingCode = withPlus(code);

  if (
    policy.allowedCountryCodes &&
    !policy.allowedCountryCodes.some((allowed) => withPlus(allowed.trim()) === callingCode)
  ) {
    throw new AppError(ErrorCode.CountryNotAllowed);
  }

  if (!CALLING_CODES.has(callingCode.slice(1))) {
    throw new AppError(ErrorCode.InvalidPhone, {}, `${callingCode} is not a country calling code`);
  }
  const parsed = parse(`${callingCode}${national}`);
  // A calling code check too: '+9' with '19876543219' would otherwise parse as +91 9876543219.
  if (!parsed || `+${parsed.countryCallingCode}` !== callingCode || !parsed.isValid()) {
    throw new AppError(ErrorCode.InvalidPhone);
  }

  const type = parsed.getType();
  if (type && policy.blockedNumberTypes.some((blocked) => blocked.trim().toUpperCase() === type)) {
    throw new AppError(ErrorCode.InvalidPhone, {}, 'phone number type is not accepted');
  }
  if (policy.blockedPrefixes?.some((prefix) => parsed.number.startsWith(prefix))) {
    throw new AppError(ErrorCode.InvalidPhone, {}, 'numbers of this range are not accepted');
  }

  return { e164: parsed.number, countryCode: callingCode, nationalNumber: parsed.nationalNumber };
}

const KEEP_LAST = 3;

function maskDigits(digits: string): string {
  // Too short to hide anything while showing three digits: hide all.
  // A fixed-width mask (as in DESIGN.md) also hides how long the number is.
  if (digits.length <= KEEP_LAST) return MASK;
  return MASK + digits.slice(-KEEP_LAST);
}

const MASK = '******';

/**
 * A phone number fit for logs: the country calling code and the last three digits
 * ('+919876543219' → '+91******219'). Input libphonenumber cannot read keeps only
 * its last three characters.
 */
export function maskPhone(e164: string): string {
  const compact = e164.replace(SEPARATORS, '');
  const parsed = /^\+\d+$/.test(compact) ? parse(compact) : undefined;
  if (!parsed) return maskDigits(compact);
  const callingCode = parsed.countryCallingCode;
  return `+${callingCode}${maskDigits(compact.slice(1 + callingCode.length))}`;
}

/**
 * The region a number belongs to: its country (ISO 3166 code, `JM` for +1 876…, so +1's many
 * countries stay apart), or its calling code when it has none (`+881`).
 */
export function phoneRegion(e164: string): string {
  const parsed = parse(e164);
  if (!parsed) return splitE164(e164).countryCode || '+';
  return parsed.country ?? `+${parsed.countryCallingCode}`;
}

/** Every country calling code (ITU-T E.164 assigns them prefix-free: none starts another). */
const CALLING_CODES = new Set([
  ...Object.keys(metadata.country_calling_codes),
  ...Object.keys(metadata.nonGeographic), // +800, +808, +870, …
]);

/**
 * A stored E.164 number back into the contract's (countryCode, national number) pair: the
 * calling code is the one prefix of 1-3 digits that is a calling code (no parsing: this runs on
 * every read of a link).
 */
export function splitE164(e164: string): { countryCode: string; nationalNumber: string } {
  const digits = e164.replace(/^\+/, '');
  for (let length = 1; length <= 3; length++) {
    const code = digits.slice(0, length);
    if (CALLING_CODES.has(code))
      return { countryCode: `+${code}`, nationalNumber: digits.slice(length) };
  }
  return { countryCode: '', nationalNumber: digits };
}

/**
 * An operator's phone (`+919876543219`, spaces and dashes allowed) in the E.164 form the
 * database keeps; VALIDATION_FAILED on `field` when it is not a valid number.
 */
export function parseE164(text: string, field = 'phone'): string {
  const compact = text.replace(SEPARATORS, '');
  const parsed = /^\+\d{4,20}$/.test(compact) ? parsePhoneNumberFromString(compact) : undefined;
  if (!parsed?.isValid()) {
    throw validationFailed(
      field,
      `${field} must be a valid number in E.164 form, e.g. +919876543219`,
    );
  }
  return parsed.number;
}
