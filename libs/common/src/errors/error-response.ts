import { HttpException } from '@nestjs/common';
import { AppError } from './app-error';
import { ERROR_MESSAGE, ERROR_STATUS, ErrorCode } from './error-code';
import { isDatabaseUnavailable } from './database-errors';

/** The one error body of the contract. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  [extra: string]: unknown;
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Unexpected: log it with its stack; never show it to the caller. */
  unexpected: boolean;
}

/** Fastify's own errors (body parser, limits) by code. */
/**
 * A route's own error shape (OTP-API.md answers `{"status":false,…}`): set as the Fastify route
 * config `errorEnvelope` (`@EnvelopeErrors` on a controller, or a route's `@RouteConfig`), it
 * reshapes the standard response of every error of that route, Fastify's own (body parser, body
 * limit) included. An error it knows as the route's own answer it marks `unexpected: false`: not
 * logged as a failure of the service.
 */
export type ErrorEnvelope = (
  response: ErrorResponse,
  error: unknown,
  requestId: string,
) => Pick<ErrorResponse, 'status' | 'headers'> & { body: object; unexpected?: boolean };

const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ErrorCode.ValidationFailed,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCode.ValidationFailed,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCode.UnsupportedMediaType,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ErrorCode.ValidationFailed,
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCode.PayloadTooLarge,
  FST_ERR_BAD_URL: ErrorCode.NotFound,
  FST_ERR_MAX_PARAM_LENGTH: ErrorCode.NotFound,
};

const FASTIFY_MESSAGES: Partial<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'request body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'request body is empty',
};

/** Statuses Nest or Fastify raise themselves, mapped to contract codes. */
const STATUS_CODES: Record<number, ErrorCode> = {
  400: ErrorCode.ValidationFailed,
  401: ErrorCode.Unauthorized,
  403: ErrorCode.Unauthorized,
  404: ErrorCode.NotFound,
  405: ErrorCode.MethodNotAllowed,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.UnsupportedMediaType,
  429: ErrorCode.RateLimited,
  503: ErrorCode.Unavailable,
};

/** Codes whose framework messages ("Unsupported Media Type") say less than the catalogue's. */
const OWN_MESSAGE = new Set([
  ErrorCode.NotFound,
  ErrorCode.UnsupportedMediaType,
  ErrorCode.MethodNotAllowed,
]);

/**
 * Other errors that carry a 4xx status (the static file sender of /docs raises `http-errors`
 * objects): the caller's mistake, so a 4xx in the contract's shape, never the sender's message
 * (it may name a file). A path that may not be served is, to the caller, not there.
 */
const CLIENT_ERROR_STATUS_CODES: Record<number, ErrorCode> = {
  403: ErrorCode.NotFound,
  404: ErrorCode.NotFound,
  413: ErrorCode.PayloadTooLarge,
  429: ErrorCode.RateLimited,
};

/**
 * The status of an `http-errors` object meant for the caller (`expose`, set for every 4xx). Other
 * objects with a status (a provider's HTTP error thrown through) stay unexpected: a 500.
 */
function clientErrorStatus(error: unknown): number | undefined {
  const { status, expose } = (error ?? {}) as { status?: unknown; expose?: unknown };
  return expose === true && typeof status === 'number' && status >= 400 && status < 500
    ? status
    : undefined;
}

/**
 * Turns any thrown value into the contract's error response. Known failures keep their
 * meaning; anything else becomes 500 INTERNAL carrying only the request id.
 */
export function toErrorResponse(error: unknown, requestId: string): ErrorResponse {
  if (error instanceof AppError) return fromCode(error.code, error.message, error.extra);

  const fastifyCode = (error as { code?: unknown } | null)?.code;
  if (typeof fastifyCode === 'string' && fastifyCode in FASTIFY_ERRORS) {
    const code = FASTIFY_ERRORS[fastifyCode];
    const message = FASTIFY_MESSAGES[fastifyCode] ?? ERROR_MESSAGE[code];
    return fromCode(code, message);
  }

  if (error instanceof HttpException) {
    const code = STATUS_CODES[error.getStatus()];
    if (code) return fromCode(code, OWN_MESSAGE.has(code) ? ERROR_MESSAGE[code] : error.message);
  }

  const clientStatus = clientErrorStatus(error);
  if (clientStatus !== undefined) {
    return fromCode(CLIENT_ERROR_STATUS_CODES[clientStatus] ?? ErrorCode.ValidationFailed);
  }

  if (isDatabaseUnavailable(error)) return fromCode(ErrorCode.Unavailable);

  const internal = fromCode(ErrorCode.Internal, ERROR_MESSAGE[ErrorCode.Internal], { requestId });
  return { ...internal, unexpected: true };
}

function fromCode(
  code: ErrorCode,
  message = ERROR_MESSAGE[code],
  extra: object = {},
): ErrorResponse {
  const status = ERROR_STATUS[code];
  // VALIDATION_FAILED always lists its details, even when the whole body was unreadable.
  const details = code === ErrorCode.ValidationFailed ? { details: [] } : {};
  const body: ErrorBody = { statusCode: status, error: code, message, ...details, ...extra };
  const headers: Record<string, string> = {};
  const retryAfter = (extra as { retryAfter?: unknown }).retryAfter;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
  return { status, body, headers, unexpected: false };
}
