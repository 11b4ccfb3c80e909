import type { LocaleTexts } from './locale-texts';

/**
 * SMS texts by locale. The code comes first (what autofill and notification previews pick up),
 * then what it is for, how long it lasts, and a warning against sharing it. The Latin-script
 * texts keep to the GSM-7 alphabet (é is in it, ó and ã are not) so they stay one segment of
 * 160 characters; Hindi is UCS-2, one segment of 70 (sms-length.spec.ts checks both).
 */
export const SMS_TEXTS: LocaleTexts = {
  en: ({ code, app, expires }) =>
    `${code} is your verification code ${app ? `to link your phone to ${app}` : 'to verify your phone'}. It expires in ${expires}. Never share it.`,
  es: ({ code, app, expires }) =>
    `${code} es tu clave para ${app ? `vincular tu teléfono a ${app}` : 'verificar tu teléfono'}. Caduca en ${expires}. No la compartas.`,
  pt: ({ code, app, expires }) =>
    `${code} é o seu PIN para ${app ? `vincular seu telefone a ${app}` : 'verificar seu telefone'}. Expira em ${expires}. Nunca o compartilhe.`,
  id: ({ code, app, expires }) =>
    `${code} adalah kode verifikasi ${app ? `untuk ${app}` : 'nomor Anda'}. Berlaku ${expires}. Jangan bagikan kode ini.`,
  hi: ({ code, app, expires }) =>
    `${code} ${app ? `${app} का ` : ''}सत्यापन कोड है। ${expires} तक मान्य। किसी को न बताएं।`,
};
