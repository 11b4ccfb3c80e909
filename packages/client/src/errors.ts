/** Every error code the service answers (docs/errors.md), plus the client's own two. */
export type OtpLinkErrorCode =
  | 'VALIDATION_FAILED'
  | 'INVALID_PHONE'
  | 'COUNTRY_NOT_ALLOWED'
  | 'UN_AUTHORIZED'
  | 'OTP_NOT_FOUND'
  | 'RECORD_NOT_FOUND'
  | 'NOT_FOUND'
  | 'INVALID_OTP'
  | 'OTP_EXPIRED'
  | 'TOO_MANY_ATTEMPTS'
  | 'RESEND_TOO_SOON'
  | 'RATE_LIMITED'
  | 'ACCOUNT_ALREADY_LINKED'
  | 'PHONE_ALREADY_LINKED'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'METHOD_NOT_ALLOWED'
  | 'PHONE_UNDELIVERABLE'
  | 'CHANNEL_NOT_AVAILABLE'
  | 'INVALID_SIGNATURE'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  /** The request never got an answer (offline, DNS, CORS refused, aborted). */
  | 'NETWORK_ERROR'
  /** An answer that is not the service's JSON (a proxy's HTML page, a truncated body). */
  | 'BAD_RESPONSE';

/** One problem of a VALIDATION_FAILED answer. */
export interface OtpLinkErrorDetail {
  field: string;
  message: string;
}

/** The error body of every failed request: `{statusCode, error, message}` plus extras. */
export interface OtpLinkErrorBody {
  statusCode: number;
  error: string;
  message: string;
  attemptsLeft?: number;
  retryAfter?: number;
  details?: OtpLinkErrorDetail[];
  requestId?: string;
}

/** What every client call throws: `code` is the contract's error code. */
export class OtpLinkError extends Error {
  override readonly name = 'OtpLinkError';
  /** The contract's error code (`INVALID_OTP`, `RESEND_TOO_SOON`, …), or NETWORK_ERROR/BAD_RESPONSE. */
  readonly code: OtpLinkErrorCode;
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  /** INVALID_OTP: wrong codes the challenge still accepts (0: it is now locked). */
  readonly attemptsLeft?: number;
  /** RESEND_TOO_SOON / RATE_LIMITED: seconds to wait (body's `retryAfter`, else `Retry-After`). */
  readonly retryAfter?: number;
  /** VALIDATION_FAILED: each problem. */
  readonly details?: OtpLinkErrorDetail[];
  /** The service's request id (X-Request-Id), to quote to its operators. */
  readonly requestId?: string;

  constructor(
    code: OtpLinkErrorCode,
    message: string,
    extra: {
      status?: number;
      attemptsLeft?: number;
      retryAfter?: number;
      details?: OtpLinkErrorDetail[];
      requestId?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.status = extra.status ?? 0;
    if (extra.attemptsLeft !== undefined) this.attemptsLeft = extra.attemptsLeft;
    if (extra.retryAfter !== undefined) this.retryAfter = extra.retryAfter;
    if (extra.details !== undefined) this.details = extra.details;
    if (extra.requestId !== undefined) this.requestId = extra.requestId;
  }

  /** True when a new code must be requested (the challenge is locked, expired or unknown). */
  get needsNewCode(): boolean {
    return (
      this.code === 'TOO_MANY_ATTEMPTS' ||
      this.code === 'OTP_EXPIRED' ||
      this.code === 'OTP_NOT_FOUND' ||
      (this.code === 'INVALID_OTP' && this.attemptsLeft === 0)
    );
  }
}

/** Seconds of a Retry-After header: delta-seconds or an HTTP date; undefined when neither. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  // An HTTP date names its weekday and month; Date.parse would read '-5' as a year.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

const isNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** The OtpLinkError for a failed answer (status >= 400) and its parsed body (or undefined). */
export function errorFromResponse(
  status: number,
  headers: { get(name: string): string | null },
  body: unknown,
): OtpLinkError {
  const requestId = headers.get('x-request-id') ?? undefined;
  const fields = (body ?? {}) as Partial<OtpLinkErrorBody>;
  if (typeof fields.error !== 'string' || typeof fields.message !== 'string') {
    return new OtpLinkError(
      'BAD_RESPONSE',
      `the service answered ${status} without an error body`,
      {
        status,
        requestId,
      },
    );
  }
  const retryAfter = isNumber(fields.retryAfter)
    ? fields.retryAfter
    : parseRetryAfter(headers.get('retry-after'));
  return new OtpLinkError(fields.error as OtpLinkErrorCode, fields.message, {
    status,
    attemptsLeft: isNumber(fields.attemptsLeft) ? fields.attemptsLeft : undefined,
    retryAfter,
    details: Array.isArray(fields.details) ? fields.details : undefined,
    requestId: typeof fields.requestId === 'string' ? fields.requestId : requestId,
  });
}
