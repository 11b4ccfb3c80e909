import type { LocaleTexts } from './locale-texts';

/**
 * What a call says before the code (the code itself is read out digit by digit by the driver,
 * never in this text). `<Say language=…>` of each locale is VOICE_LANGUAGES'.
 */
export const VOICE_TEXTS: LocaleTexts = {
  en: ({ app }) => `Hello. This is your ${app ? `${app} ` : ''}verification code.`,
  es: ({ app }) => `Hola. Este es tu código de verificación${app ? ` de ${app}` : ''}.`,
  pt: ({ app }) => `Olá. Este é o seu código de verificação${app ? ` do ${app}` : ''}.`,
  id: ({ app }) => `Halo. Ini kode verifikasi ${app ? `${app} ` : ''}Anda.`,
  hi: ({ app }) => `नमस्ते। यह आपका ${app ? `${app} ` : ''}सत्यापन कोड है।`,
};

/** Twilio's `<Say language>` of each locale. */
export const VOICE_LANGUAGES: Readonly<Record<string, string>> = {
  en: 'en-US',
  es: 'es-ES',
  pt: 'pt-BR',
  id: 'id-ID',
  hi: 'hi-IN',
};
