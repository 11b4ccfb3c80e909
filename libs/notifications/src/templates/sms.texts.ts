import type { LocaleTexts } from './locale-texts';

/**
 * SMS texts by locale. The code comes first (what autofill and notification previews pick up),
 * then what it is for, how long it lasts, and a warning against sharing it. The Latin-script
 * texts keep to the GSM-7 alphabet (é is in it, ó and ã are not) so they stay one segment of
 * 160 characters; Hindi is UCS-2, one segment of 70 (sms-length.spec.ts checks both).
 */
export const SMS_TEXTS: LocaleTexts = {
  en: ({ code, app, expires, linksPhone }) =>
    `${code} is your ${app ? (linksPhone ? `verification code to link your phone to ${app}` : `${app} verification code`) : 'verification code to verify your phone'}. It expires in ${expires}. Never share it.`,
  es: ({ code, app, expires, linksPhone }) =>
    `${code} es tu clave para ${app ? `${linksPhone ? 'vincular tu teléfono a' : 'verificar tu teléfono en'} ${app}` : 'verificar tu teléfono'}. Caduca en ${expires}. No la compartas.`,
  pt: ({ code, app, expires, linksPhone }) =>
    `${code} é o seu PIN para ${app ? `${linksPhone ? 'vincular seu telefone a' : 'verificar seu telefone em'} ${app}` : 'verificar seu telefone'}. Expira em ${expires}. Nunca o compartilhe.`,
  id: ({ code, app, expires }) =>
    `${code} adalah kode verifikasi ${app ? `untuk ${app}` : 'nomor Anda'}. Berlaku ${expires}. Jangan bagikan kode ini.`,
  hi: ({ code, app, expires }) =>
    `${code} ${app ? `${app} का ` : ''}सत्यापन कोड है। ${expires} तक मान्य। किसी को न बताएं।`,
};
