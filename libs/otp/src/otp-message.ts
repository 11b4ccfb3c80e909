/**
 * The SMS text: the code first (what autofill and notification previews pick up), what it is
 * for, how long it lasts, and a warning against sharing it.
 */
export function otpMessageText(code: string, ttlSeconds: number, appName?: string): string {
  const lifetime = ttlSeconds % 60 === 0 ? `${ttlSeconds / 60} min` : `${ttlSeconds} s`;
  const purpose = appName ? `to link your phone to ${appName}` : 'to verify your phone';
  return `${code} is your verification code ${purpose}. It expires in ${lifetime}. Never share it.`;
}
