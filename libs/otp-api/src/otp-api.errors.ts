import { ErrorCode, type ErrorEnvelope } from '@app/common';

/** An answer of the OTP API's own shape (OTP-API.md): `{"status":false,…}`. */
export class OtpApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.message === 'string' ? body.message : 'error');
    this.name = 'OtpApiError';
  }
}

/** 400 `{"status":false,"message":…}`. */
export function badRequest(message: string): OtpApiError {
  return new OtpApiError(400, { status: false, message });
}

/** 400 `"<field>" parameter must be set`. */
export function missing(field: string): OtpApiError {
  return badRequest(`"${field}" parameter must be set`);
}

export const UNAUTHORIZED = (): OtpApiError =>
  new OtpApiError(
    401,
    { status: false, message: 'unauthorized' },
    { 'www-authenticate': 'Basic realm="otp"' },
  );

/**
 * Every error of an OTP API route in the contract's shape, whatever threw it (the guard, the
 * handler, Fastify's body parser): `{"status":false,"message":…}`, with `status_code` for the
 * service's limits (429 `rate_limited`) and undeliverable targets (422 `undeliverable`).
 */
export const otpApiEnvelope: ErrorEnvelope = (response, error) => {
  if (error instanceof OtpApiError) {
    // The API's own answer, not a failure of the service: nothing to log as unexpected.
    return { status: error.status, body: error.body, headers: error.headers, unexpected: false };
  }
  const code = response.body.error as ErrorCode;
  const message = response.body.message;
  switch (code) {
    case ErrorCode.Unauthorized: {
      const { status, body, headers } = UNAUTHORIZED();
      return { status, body, headers };
    }
    case ErrorCode.RateLimited:
      return {
        status: 429,
        body: { status: false, status_code: 'rate_limited', message },
        headers: response.headers,
      };
    case ErrorCode.PhoneUndeliverable:
      return {
        status: 422,
        body: { status: false, status_code: 'undeliverable', message },
        headers: response.headers,
      };
    default:
      return {
        status: response.status,
        body: { status: false, message },
        headers: response.headers,
      };
  }
};
