import { AppError, CONTROL_CHARS, COUNTRY_CODE_PATTERN, ErrorCode } from '@app/common';
import { messageTemplateProblem } from '@app/notifications';

/** What an operator sets on a client; `null` clears a setting back to the service default. */
export interface ClientSettings {
  /** Required at creation; cannot be cleared (null is refused). */
  name?: string | null;
  allowedCountryCodes?: string[] | null;
  hourlySendBudget?: number | null;
  senderName?: string | null;
  messageTemplate?: string | null;
}

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
  if (CONTROL_CHARS.test(value) || !value.isWellFormed()) return 'must be printable text';
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
