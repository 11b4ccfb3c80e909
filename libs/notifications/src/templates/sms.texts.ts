import type { LocaleTexts } from './locale-texts';

/**
 * SMS texts by locale. The code comes first (what autofill and notification previews pick up),
 * then what it is for, how long it lasts, and a warning against sharing it.
 */
export const SMS_TEXTS: LocaleTexts = {
  en: ({ code, app, expires }) =>
    `${code} is your verification code ${app ? `to link your phone to ${app}` : 'to verify your phone'}. It expires in ${expires}. Never share it.`,
};
