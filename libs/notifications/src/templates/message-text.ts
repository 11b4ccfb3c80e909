import type { Channel } from '@app/common';
import { EMAIL_SUBJECTS, EMAIL_TEXTS } from './email.texts';
import { DEFAULT_LOCALE, type Locale, type LocaleTexts, resolveLocale } from './locale-texts';
import { SMS_TEXTS } from './sms.texts';
import { VOICE_TEXTS } from './voice.texts';

/** What a partner's own SMS template may use; `{code}` is required. */
export const MESSAGE_TEMPLATE_PLACEHOLDERS = ['code', 'app', 'expires'] as const;
/** Two concatenated SMS segments of GSM-7 text. */
export const MESSAGE_TEMPLATE_MAX_LENGTH = 320;

const PLACEHOLDER = /\{([a-z]+)\}/g;
// Line breaks are fine in an SMS; other control characters are not.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0009\u000b-\u001f\u007f]/;

export interface MessageParts {
  code: string;
  ttlSeconds: number;
  /** The partner's app name, when known. */
  appName?: string;
  /** The code links the phone to that app (the partner flow); else it signs in or confirms. */
  linksPhone?: boolean;
  /** A partner's own text (checked by messageTemplateProblem when it was saved). */
  template?: string;
  /** A partner's own texts by locale (LOCALES), before `template`. */
  templates?: Readonly<Record<string, string>>;
  /** BCP 47; the nearest locale the channel has, else English. */
  locale?: string;
  /** WEBOTP_DOMAIN: an SMS ends with the WebOTP line `@<domain> #<code>`. */
  webOtpDomain?: string;
  /** The partner client's Android SMS Retriever app hash (11 characters), for SMS. */
  appHash?: string;
}

/** A message's content on its channel: the body, an email's subject, the locale it is in. */
export interface MessageContent {
  body: string;
  subject?: string;
  locale: Locale;
}

/**
 * Every channel's texts: a channel's template is one file beside this one. WhatsApp and
 * Telegram messages read like the SMS; a call's text is what it says before the code.
 */
const TEXTS: Record<Channel, LocaleTexts> = {
  sms: SMS_TEXTS,
  whatsapp: SMS_TEXTS,
  telegram: SMS_TEXTS,
  voice: VOICE_TEXTS,
  email: EMAIL_TEXTS,
};

/**
 * The content of a code's message on `channel`. A partner's template is an SMS text: it is
 * used on the channels that read like one (sms, whatsapp, telegram), not for calls or emails.
 */
export function messageContent(channel: Channel, parts: MessageParts): MessageContent {
  const locale = resolveLocale(parts.locale);
  const usesTemplate = channel === 'sms' || channel === 'whatsapp' || channel === 'telegram';
  let body = messageText(channel, {
    ...parts,
    locale,
    template: usesTemplate ? (parts.templates?.[locale] ?? parts.template) : undefined,
  });
  if (channel === 'sms') {
    // Android's SMS Retriever wants the hash at the end; WebOTP wants its line last of all.
    if (parts.appHash) body = `${body}\n${parts.appHash}`;
    if (parts.webOtpDomain) body = `${body}\n\n@${parts.webOtpDomain} #${parts.code}`;
  }
  if (channel !== 'email') return { body, locale };
  const subject = nearest(EMAIL_SUBJECTS, locale)(values(parts));
  return { body, subject, locale };
}

function values(parts: MessageParts) {
  const { code, ttlSeconds, appName } = parts;
  const expires = ttlSeconds % 60 === 0 ? `${ttlSeconds / 60} min` : `${ttlSeconds} s`;
  return { code, app: appName, expires };
}

/**
 * The text of a code's message on `channel`: the partner's template when it has one, else the
 * channel's text in the nearest locale (`es-MX`, then `es`, then English).
 */
export function messageText(channel: Channel, parts: MessageParts): string {
  const { code, ttlSeconds, appName, template, linksPhone } = parts;
  const expires = ttlSeconds % 60 === 0 ? `${ttlSeconds / 60} min` : `${ttlSeconds} s`;
  if (template) {
    const values: Record<string, string> = { code, app: appName ?? '', expires };
    return template.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
  }
  const texts = TEXTS[channel];
  return nearest(texts, parts.locale)({ code, app: appName, expires, linksPhone });
}

function nearest(texts: LocaleTexts, locale: string = DEFAULT_LOCALE): LocaleTexts[string] {
  const tag = locale.toLowerCase();
  return texts[tag] ?? texts[tag.split('-')[0]] ?? texts[DEFAULT_LOCALE];
}

/** Why a partner's template cannot be used, or undefined when it can. */
export function messageTemplateProblem(template: string): string | undefined {
  if (template.length > MESSAGE_TEMPLATE_MAX_LENGTH) {
    return `template must be at most ${MESSAGE_TEMPLATE_MAX_LENGTH} characters`;
  }
  if (CONTROL_CHARS.test(template)) return 'template must not contain control characters';
  const names = [...template.matchAll(PLACEHOLDER)].map((match) => match[1]);
  const unknown = names.filter(
    (name) => !(MESSAGE_TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name),
  );
  if (unknown.length > 0) {
    return `unknown placeholder {${unknown[0]}}; use ${MESSAGE_TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`;
  }
  if (!names.includes('code')) return 'template must contain {code}';
  return undefined;
}
