/**
 * What a text is made of: the code, the app's name, the lifetime in words, and whether the code
 * links the phone to the app (the partner flow) rather than signing in or confirming.
 */
export interface TextValues {
  code: string;
  app?: string;
  expires: string;
  linksPhone?: boolean;
}

/** A channel's texts, by locale (`en`, `hi`, `es-MX`, …). */
export type LocaleTexts = Readonly<Record<string, (values: TextValues) => string>>;

/** The locales every channel has a text in (CHANNELS.md); `en` is the last resort. */
export const LOCALES = ['en', 'hi', 'es', 'pt', 'id'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en';

/** BCP 47 as a client may send it: a language, then subtags; nothing else is looked at. */
const LANGUAGE_TAG = /^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]{1,8})*$/;

/**
 * The nearest locale there are texts in: `es-MX` → `es`, `PT_br` → `pt`; unknown or malformed
 * (too long, not a language tag) → `en`.
 */
export function resolveLocale(tag?: string | null): Locale {
  if (!tag || tag.length > 35) return DEFAULT_LOCALE;
  const match = LANGUAGE_TAG.exec(tag.trim());
  const language = match?.[1].toLowerCase();
  return (LOCALES as readonly string[]).includes(language ?? '')
    ? (language as Locale)
    : DEFAULT_LOCALE;
}

/**
 * The first locale of an Accept-Language header we have texts in (`fr, hi;q=0.8` → `hi`), by
 * the header's q-values; undefined when none.
 */
export function localeFromAcceptLanguage(header?: string | string[]): Locale | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value || value.length > 500) return undefined;
  const ranked = value
    .split(',')
    .slice(0, 20)
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([01](?:\.\d{1,3})?)\s*$/.exec(p)?.[1]).find(Boolean);
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter(({ tag, q }) => q > 0 && LANGUAGE_TAG.test(tag))
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    const language = tag.split(/[-_]/)[0].toLowerCase();
    if ((LOCALES as readonly string[]).includes(language)) return language as Locale;
  }
  return undefined;
}
