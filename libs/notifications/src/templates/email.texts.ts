import type { LocaleTexts } from './locale-texts';

/** Email subjects by locale: the code first, so it shows in the inbox list. */
export const EMAIL_SUBJECTS: LocaleTexts = {
  en: ({ code, app }) => `${code} is your ${app ? `${app} ` : ''}verification code`,
  es: ({ code, app }) => `${code} es tu código de verificación${app ? ` de ${app}` : ''}`,
  pt: ({ code, app }) => `${code} é o seu código de verificação${app ? ` do ${app}` : ''}`,
  id: ({ code, app }) => `${code} adalah kode verifikasi ${app ? `${app} ` : ''}Anda`,
  hi: ({ code, app }) => `${code} आपका ${app ? `${app} ` : ''}सत्यापन कोड है`,
};

/** Email bodies by locale (text; the HTML part is made from it): the code first. */
export const EMAIL_TEXTS: LocaleTexts = {
  en: ({ code, app, expires }) =>
    `${code}\n\nThis is your verification code${app ? ` for ${app}` : ''}. It expires in ${expires}.\nNever share it with anyone. If you did not ask for it, ignore this email.`,
  es: ({ code, app, expires }) =>
    `${code}\n\nEste es tu código de verificación${app ? ` de ${app}` : ''}. Caduca en ${expires}.\nNo lo compartas con nadie. Si no lo pediste, ignora este correo.`,
  pt: ({ code, app, expires }) =>
    `${code}\n\nEste é o seu código de verificação${app ? ` do ${app}` : ''}. Expira em ${expires}.\nNunca o compartilhe. Se você não o pediu, ignore este e-mail.`,
  id: ({ code, app, expires }) =>
    `${code}\n\nIni kode verifikasi ${app ? `${app} ` : ''}Anda. Berlaku ${expires}.\nJangan bagikan kepada siapa pun. Jika Anda tidak memintanya, abaikan email ini.`,
  hi: ({ code, app, expires }) =>
    `${code}\n\nयह आपका ${app ? `${app} ` : ''}सत्यापन कोड है। ${expires} तक मान्य।\nइसे किसी को न बताएं। अगर आपने इसे नहीं मांगा, तो इस ईमेल को अनदेखा करें।`,
};
