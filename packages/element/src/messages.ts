import type { OtpLinkError, OtpLinkErrorCode } from '@otp-link/client';

const seconds = (value: number | undefined) =>
  value === undefined ? 'a moment' : value === 1 ? '1 second' : `${value} seconds`;

const SOMETHING_WENT_WRONG = 'Something went wrong on our side. Please try again in a moment.';

/** One sentence a person can act on, for each error code of docs/errors.md and the client's own. */
const SENTENCES: Record<OtpLinkErrorCode, (error: OtpLinkError) => string> = {
  VALIDATION_FAILED: () => 'That does not look like a phone number. Check it and try again.',
  INVALID_PHONE: () =>
    'This phone number is not valid for the selected country. Check it and try again.',
  COUNTRY_NOT_ALLOWED: () => 'Phone numbers from this country cannot be used here.',
  UN_AUTHORIZED: () => 'Your session has expired. Sign in again, then retry.',
  OTP_NOT_FOUND: () => 'This code request is no longer valid. Request a new code.',
  RECORD_NOT_FOUND: () => 'No phone number is linked to your account yet.',
  NOT_FOUND: () => 'The verification service could not be found. Please try again later.',
  INVALID_OTP: (error) =>
    error.attemptsLeft === 0
      ? 'That code is wrong, and it was the last try. Request a new code.'
      : `That code is wrong. You have ${error.attemptsLeft ?? 'a few'} ${error.attemptsLeft === 1 ? 'try' : 'tries'} left.`,
  OTP_EXPIRED: () => 'This code has expired. Request a new code.',
  TOO_MANY_ATTEMPTS: () => 'Too many wrong codes were entered. Request a new code.',
  RESEND_TOO_SOON: (error) =>
    `A code was sent a moment ago. You can ask for another in ${seconds(error.retryAfter)}.`,
  RATE_LIMITED: (error) => `Too many attempts. Please try again in ${seconds(error.retryAfter)}.`,
  ACCOUNT_ALREADY_LINKED: () => 'Your account already has a linked phone number.',
  PHONE_ALREADY_LINKED: () =>
    'This phone number is already linked to another account. Use a different number.',
  CONFLICT: () => SOMETHING_WENT_WRONG,
  PAYLOAD_TOO_LARGE: () => 'What you entered is too long. Check it and try again.',
  UNSUPPORTED_MEDIA_TYPE: () => SOMETHING_WENT_WRONG,
  METHOD_NOT_ALLOWED: () => SOMETHING_WENT_WRONG,
  PHONE_UNDELIVERABLE: () =>
    'We cannot send a code to this number. Use a mobile number that can receive text messages.',
  CHANNEL_NOT_AVAILABLE: () => 'Codes cannot be sent that way right now. Try a text message.',
  INVALID_SIGNATURE: () => SOMETHING_WENT_WRONG,
  UNAVAILABLE: () => 'The service is temporarily unavailable. Please try again in a moment.',
  INTERNAL: () => SOMETHING_WENT_WRONG,
  NETWORK_ERROR: () => 'You seem to be offline. Check your connection and try again.',
  BAD_RESPONSE: () => SOMETHING_WENT_WRONG,
};

/** The sentence the element shows for `error`; every code has one. */
export function errorSentence(error: OtpLinkError): string {
  const sentence = SENTENCES[error.code] as ((error: OtpLinkError) => string) | undefined;
  return sentence ? sentence(error) : SOMETHING_WENT_WRONG;
}

/** Every code the element has a sentence for (the browser tests walk them). */
export const ERROR_CODES = Object.keys(SENTENCES) as OtpLinkErrorCode[];
