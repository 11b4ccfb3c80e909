import type { Channel } from '@app/common';
import type { LocaleTexts } from './locale-texts';
import { SMS_TEXTS } from './sms.texts';

/** What a partner's own SMS template may use; `{code}` is required. */
export const MESSAGE_TEMPLATE_PLACEHOLDERS = ['code', 'app', 'expires'] as const;
/** Two concatenated SMS segments of GSM-7 text. */
export const MESSAGE_TEMPLATE_MAX_LENGTH = 320;

const PLACEHOLDER = /\{([a-z]+)\}/g;
// Line breaks are fine in an SMS; other control characters are not.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0009\u000b-\u001f\u007f]/;
const DEFAULT_LOCALE = 'en';

export interface MessageParts {
  code: string;
  ttlSeconds: number;
  /** The partner's app name, when known. */
  appName?: string;
  /** A partner's own text (checked by messageTemplateProblem when it was saved). */
  template?: string;
  /** BCP 47; the nearest locale the channel has, else English. */
  locale?: string;
}

/** Every channel's texts: a channel's template is one file beside this one. */
const TEXTS: Partial<Record<Channel, LocaleTexts>> = { sms: SMS_TEXTS };

/**
 * The text of a code's message on `channel`: the partner's template when it has one, else the
 * channel's text in the nearest locale (`es-MX`, then `es`, then English).
 */
export function messageText(channel: Channel, parts: MessageParts): string {
  const { code, ttlSeconds, appName, template } = parts;
  const expires = ttlSeconds % 60 === 0 ? `${ttlSeconds / 60} min` : `${ttlSeconds} s`;
  if (template) {
    const values: Record<string, string> = { code, app: appName ?? '', expires };
    return template.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
  }
  const texts = TEXTS[channel] ?? SMS_TEXTS;
  return nearest(texts, parts.locale)({ code, app: appName, expires });
}

function nearest(texts: LocaleTexts, locale = DEFAULT_LOCALE): LocaleTexts[string] {
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
