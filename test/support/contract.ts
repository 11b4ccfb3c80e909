/*
 * What the contract promises of every answer (spec §5), for the fuzz suites: 2xx with a JSON
 * object, or a documented 4xx in the error shape, never a stack trace or SQL.
 */

/** Spec §5: every error code, its status, and the extra fields it may carry. */
export const SPEC_ERRORS: Record<string, { status: number; extra: string[] }> = {
  VALIDATION_FAILED: { status: 400, extra: ['details'] },
  INVALID_PHONE: { status: 400, extra: [] },
  COUNTRY_NOT_ALLOWED: { status: 403, extra: [] },
  UN_AUTHORIZED: { status: 401, extra: [] },
  OTP_NOT_FOUND: { status: 404, extra: [] },
  RECORD_NOT_FOUND: { status: 404, extra: [] },
  NOT_FOUND: { status: 404, extra: [] },
  INVALID_OTP: { status: 400, extra: ['attemptsLeft'] },
  OTP_EXPIRED: { status: 410, extra: [] },
  TOO_MANY_ATTEMPTS: { status: 429, extra: [] },
  RESEND_TOO_SOON: { status: 429, extra: ['retryAfter'] },
  RATE_LIMITED: { status: 429, extra: ['retryAfter'] },
  ACCOUNT_ALREADY_LINKED: { status: 409, extra: [] },
  PHONE_ALREADY_LINKED: { status: 409, extra: [] },
  PAYLOAD_TOO_LARGE: { status: 413, extra: [] },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, extra: [] },
  METHOD_NOT_ALLOWED: { status: 405, extra: [] },
  PHONE_UNDELIVERABLE: { status: 422, extra: [] },
};
export const DOCUMENTED_4XX = [400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429];
export const LEAK = /\bat .+\.(ts|js):\d+|node_modules|QueryFailedError|syntax error at|violates/;

export type Json = Record<string, unknown>;

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const preview = (value: unknown): string => {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text;
};

/** Where the answer departs from the contract; empty when it does not. */
export function contractProblems(res: Answer, known = SPEC_ERRORS): string[] {
  if (res.status >= 200 && res.status < 300) {
    return isObject(res.body) ? [] : ['a 2xx answer whose body is not a JSON object'];
  }
  const problems: string[] = [];
  if (!DOCUMENTED_4XX.includes(res.status)) problems.push(`${res.status} is not a documented 4xx`);
  const body = res.body;
  if (!isObject(body)) return [...problems, 'the error body is not a JSON object'];
  const spec = known[String(body.error)];
  if (!spec) problems.push(`error ${preview(body.error)} is not in the spec table`);
  else if (spec.status !== res.status)
    problems.push(`${String(body.error)} answered ${res.status}`);
  if (body.statusCode !== res.status) problems.push('statusCode differs from the HTTP status');
  if (typeof body.message !== 'string') problems.push('message is not a string');
  const allowed = ['statusCode', 'error', 'message', ...(spec?.extra ?? [])];
  const unexpected = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unexpected.length > 0) problems.push(`unexpected fields ${unexpected.join(', ')}`);
  if ('retryAfter' in body) {
    const retryAfter = body.retryAfter;
    if (!Number.isInteger(retryAfter) || (retryAfter as number) < 1) {
      problems.push('retryAfter is not a positive integer');
    }
    if (res.headers.get('retry-after') !== String(retryAfter)) {
      problems.push('Retry-After header differs from retryAfter');
    }
  }
  if ('details' in body) {
    const details = body.details;
    if (
      !Array.isArray(details) ||
      !details.every(
        (d) => isObject(d) && typeof d.field === 'string' && typeof d.message === 'string',
      )
    ) {
      problems.push('details is not a list of {field, message}');
    }
  }
  if (LEAK.test(res.text)) problems.push('the body leaks a stack trace or SQL');
  return problems;
}

export function expectContract(res: Answer, request: string, known = SPEC_ERRORS): void {
  const problems = contractProblems(res, known);
  if (problems.length > 0) {
    throw new Error(
      `${request}\n→ ${res.status} ${preview(res.text)}\nbreaks the contract: ${problems.join('; ')}`,
    );
  }
}

/** One request with a deadline; the answer with its body parsed when it is JSON. */
export async function sendRequest(
  baseUrl: string,
  method: string,
  path: string,
  init: { body?: string | Uint8Array; headers?: Record<string, string> },
  timeoutMs: number,
): Promise<Answer> {
  let response: Response;
  let text: string;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: init.headers,
      body: init.body,
      signal,
    });
    text = await response.text();
  } catch (error) {
    if (signal.aborted) throw new Error(`${method} ${path}: no answer in ${timeoutMs} ms`);
    throw error;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}
