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
  /** A partner's own text (checked by messageTemplateProblem when it was saved). */
  template?: string;
}

/**
 * The SMS text. The standard one puts the code first (what autofill and notification previews
 * pick up), then what it is for, how long it lasts, and a warning against sharing it.
 */
export function otpMessageText({ code, ttlSeconds, appName, template }: MessageParts): string {
  const expires = ttlSeconds % 60 === 0 ? `${ttlSeconds / 60} min` : `${ttlSeconds} s`;
  if (template) {
    const values: Record<string, string> = { code, app: appName ?? '', expires };
    return template.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
  }
  const purpose = appName ? `to link your phone to ${appName}` : 'to verify your phone';
  return `${code} is your verification code ${purpose}. It expires in ${expires}. Never share it.`;
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
