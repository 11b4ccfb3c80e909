import { domainToASCII } from 'node:url';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';
import { maskPhone } from '../phone/phone-number';
import { isPrintableText } from '../validation/text-param.pipe';

/** What a code is sent to (CHANNELS.md): a phone, an email address or a Telegram chat. */
export const TARGET_KINDS = ['phone', 'email', 'telegram'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** How a code travels, each to one kind of target. */
export const CHANNELS = ['sms', 'whatsapp', 'voice', 'email', 'telegram'] as const;
export type Channel = (typeof CHANNELS)[number];

export const CHANNEL_TARGET: Readonly<Record<Channel, TargetKind>> = {
  sms: 'phone',
  whatsapp: 'phone',
  voice: 'phone',
  email: 'email',
  telegram: 'telegram',
};

/**
 * A normalised target: `+919876543219`, `asha@example.com` (lower-cased, IDN domain in
 * punycode) or a Telegram chat id (`123456789`). Limits count per target value.
 */
export interface Target {
  kind: TargetKind;
  value: string;
}

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value);
}

/** A phone target from an E.164 number that was validated already (normalizePhone). */
export function phoneTarget(e164: string): Target {
  return { kind: 'phone', value: e164 };
}

/**
 * RFC 5321's limits: 64 characters before the @, 320 in all. C1 controls (U+0080-U+009F) are
 * refused here; C0 controls, DEL and lone surrogates by emailTarget before this runs.
 */
const EMAIL = /^[^\s@"<>()\\,;:[\]\u0080-\u009f]{1,64}@([^\s@]{1,255})$/;
const DOMAIN_LABELS =
  /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

/**
 * An email target: the address lower-cased, its domain in punycode (`ü.example` →
 * `xn--tda.example`). VALIDATION_FAILED on `field` when it is no address.
 */
export function emailTarget(address: string, field = 'email'): Target {
  const text = address.trim();
  // Control characters and lone surrogates are no part of an address (and PostgreSQL text
  // refuses NUL: a 500 if one got that far).
  const match = isPrintableText(text) ? EMAIL.exec(text) : null;
  const domain = match ? domainToASCII(match[1].toLowerCase()) : '';
  if (!match || !DOMAIN_LABELS.test(domain)) {
    throw invalid(field, `${field} must be an email address`);
  }
  const local = text.slice(0, -match[1].length - 1).toLowerCase();
  const value = `${local}@${domain}`;
  if (value.length > 320) throw invalid(field, `${field} must be at most 320 characters`);
  return { kind: 'email', value };
}

/** Telegram chat ids are integers (groups are negative) that fit in 52 bits. */
const TELEGRAM_CHAT_ID = /^-?[1-9]\d{0,15}$/;

export function telegramTarget(chatId: string | number, field = 'chat_id'): Target {
  const value = String(chatId).trim();
  if (!TELEGRAM_CHAT_ID.test(value) || !Number.isSafeInteger(Number(value))) {
    throw invalid(field, `${field} must be a Telegram chat id (an integer)`);
  }
  return { kind: 'telegram', value };
}

/**
 * A target fit for logs and the audit trail: `+91******219`, `a***@example.com`, `******789`.
 */
export function maskTarget(target: Target): string {
  switch (target.kind) {
    case 'phone':
      return maskPhone(target.value);
    case 'email': {
      const at = target.value.lastIndexOf('@');
      return `${target.value.slice(0, 1)}***${target.value.slice(at)}`.slice(0, 128);
    }
    case 'telegram':
      return `******${target.value.slice(-3)}`;
  }
}

function invalid(field: string, message: string): AppError {
  return new AppError(ErrorCode.ValidationFailed, { details: [{ field, message }] }, message);
}
