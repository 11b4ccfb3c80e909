import { AppError, COUNTRY_CODE_PATTERN, ErrorCode, isPrintableText } from '@app/common';
import { LOCALES, messageTemplateProblem } from '@app/notifications';

/** What an operator sets on a client; `null` clears a setting back to the service default. */
export interface ClientSettings {
  /** Required at creation; cannot be cleared (null is refused). */
  name?: string | null;
  allowedCountryCodes?: string[] | null;
  hourlySendBudget?: number | null;
  senderName?: string | null;
  messageTemplate?: string | null;
  /** Texts by locale (one of LOCALES), used before `messageTemplate`. */
  messageTemplates?: Record<string, string> | null;
  /** The Android SMS Retriever hash of its app: 11 characters of base64. */
  androidAppHash?: string | null;
}

/** What Android's SMS Retriever computes from an app's package name and signing certificate. */
const ANDROID_APP_HASH = /^[A-Za-z0-9+/]{11}$/;

export const MAX_CLIENT_NAME_LENGTH = 100;
export const MAX_SENDER_NAME_LENGTH = 30;
export const MAX_HOURLY_SEND_BUDGET = 1_000_000_000;
const MAX_COUNTRY_CODES = 300;

/**
 * Client ids are what tokens carry in `third_party_client_id`: printable ASCII without spaces,
 * at most 128 characters (the column), and without `___`, the separator of namespaced user ids.
 */
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

type Problem = { field: string; message: string };

function fail(problems: Problem[]): never {
  throw new AppError(
    ErrorCode.ValidationFailed,
    { details: problems },
    `invalid fields: ${[...new Set(problems.map((p) => p.field))].join(', ')}`,
  );
}

export function clientIdProblem(id: string): string | undefined {
  if (!CLIENT_ID.test(id)) return 'client id must be 1-128 printable ASCII characters, no spaces';
  if (id.includes('___')) return 'client id must not contain "___"';
  return undefined;
}

export function checkClientId(id: string, field = 'id'): string {
  const problem = clientIdProblem(id);
  if (problem) fail([{ field, message: problem }]);
  return id;
}

function textProblem(value: string, max: number): string | undefined {
  if (value.trim().length === 0) return 'must not be empty';
  if (value.length > max) return `must be at most ${max} characters`;
  if (!isPrintableText(value)) return 'must be printable text';
  return undefined;
}

/** Checks every given setting and returns them normalised (trimmed, `+` on country codes). */
export function checkSettings(settings: ClientSettings): ClientSettings {
  const problems: Problem[] = [];
  const out: ClientSettings = {};
  const text = (field: keyof ClientSettings, value: string, max: number) => {
    const problem = textProblem(value, max);
    if (problem) problems.push({ field, message: `${field} ${problem}` });
    return value.trim();
  };

  if (settings.name === null) problems.push({ field: 'name', message: 'name cannot be cleared' });
  else if (settings.name !== undefined) {
    out.name = text('name', settings.name, MAX_CLIENT_NAME_LENGTH);
  }
  if (settings.senderName !== undefined) {
    out.senderName =
      settings.senderName === null
        ? null
        : text('senderName', settings.senderName, MAX_SENDER_NAME_LENGTH);
  }
  if (settings.messageTemplate !== undefined) {
    const template = settings.messageTemplate;
    const problem = template === null ? undefined : messageTemplateProblem(template);
    if (problem) problems.push({ field: 'messageTemplate', message: problem });
    out.messageTemplate = template;
  }
  if (settings.messageTemplates !== undefined) {
    const { templates, problems: found } = checkTemplates(settings.messageTemplates);
    problems.push(...found);
    out.messageTemplates = templates;
  }
  if (settings.androidAppHash !== undefined) {
    const hash = settings.androidAppHash;
    if (hash !== null && (typeof hash !== 'string' || !ANDROID_APP_HASH.test(hash))) {
      problems.push({
        field: 'androidAppHash',
        message: 'androidAppHash must be the 11-character hash of the SMS Retriever API',
      });
    }
    out.androidAppHash = hash;
  }
  if (settings.hourlySendBudget !== undefined) {
    const budget = settings.hourlySendBudget;
    if (
      budget !== null &&
      (!Number.isSafeInteger(budget) || budget < 1 || budget > MAX_HOURLY_SEND_BUDGET)
    ) {
      problems.push({
        field: 'hourlySendBudget',
        message: `hourlySendBudget must be an integer 1-${MAX_HOURLY_SEND_BUDGET}`,
      });
    }
    out.hourlySendBudget = budget;
  }
  if (settings.allowedCountryCodes !== undefined) {
    const codes = settings.allowedCountryCodes;
    if (codes === null || codes.length === 0) {
      out.allowedCountryCodes = null;
    } else if (codes.length > MAX_COUNTRY_CODES) {
      problems.push({ field: 'allowedCountryCodes', message: 'too many country codes' });
    } else {
      const bad = codes.find((code) => !COUNTRY_CODE_PATTERN.test(code.trim()));
      if (bad !== undefined) {
        problems.push({
          field: 'allowedCountryCodes',
          message: `country codes must be + and 1-3 digits, got ${JSON.stringify(bad.slice(0, 8))}`,
        });
      }
      const normalised = codes
        .map((code) => code.trim())
        .map((c) => (c.startsWith('+') ? c : `+${c}`));
      out.allowedCountryCodes = [...new Set(normalised)];
    }
  }
  if (problems.length > 0) fail(problems);
  return out;
}

/** Texts by locale: keys among LOCALES, each a valid template; none at all clears them. */
function checkTemplates(templates: Record<string, string> | null): {
  templates: Record<string, string> | null;
  problems: Problem[];
} {
  if (templates === null) return { templates: null, problems: [] };
  if (typeof templates !== 'object' || Array.isArray(templates)) {
    return {
      templates: null,
      problems: [{ field: 'messageTemplates', message: 'messageTemplates must be an object' }],
    };
  }
  const problems: Problem[] = [];
  const entries = Object.entries(templates);
  for (const [locale, template] of entries) {
    const field = `messageTemplates.${locale}`;
    if (!(LOCALES as readonly string[]).includes(locale)) {
      problems.push({ field, message: `locale must be one of ${LOCALES.join(', ')}` });
    } else if (typeof template !== 'string') {
      problems.push({ field, message: 'template must be text' });
    } else {
      const problem = messageTemplateProblem(template);
      if (problem) problems.push({ field, message: problem });
    }
  }
  return { templates: entries.length === 0 ? null : templates, problems };
}
