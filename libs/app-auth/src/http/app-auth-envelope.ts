import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERROR_MESSAGE, ERROR_STATUS, ErrorCode, type ErrorEnvelope } from '@app/common';

/** The app API's success envelope (APP-AUTH.md). */
export function success<T>(data: T): { status: 'success'; data: T } {
  return { status: 'success', data };
}

/**
 * The app API's error envelope (APP-AUTH.md): `{status:"error", error:{code, errorCode, message,
 * trace_id, details}}`, the HTTP status equal to `code`. The codes and messages are the
 * service's own (toErrorResponse); what the other APIs put beside `message` (`attemptsLeft`,
 * `retryAfter`, a validation's list) goes in `details`. As a route's envelope it shapes every
 * error of the route, those of the body parser (bad JSON, too large, not JSON) included.
 */
export const appAuthEnvelope: ErrorEnvelope = (response, _error, traceId) => {
  const { statusCode, error: errorCode, message, details, requestId, ...extra } = response.body;
  void requestId; // trace_id says it
  const detail = details ?? (Object.keys(extra).length > 0 ? extra : undefined);
  return {
    status: response.status,
    headers: response.headers,
    body: {
      status: 'error',
      error: {
        code: statusCode,
        errorCode,
        message,
        trace_id: traceId,
        ...(detail === undefined ? {} : { details: detail }),
      },
    },
  };
};

/** Documents the errors an app API endpoint can answer, in its envelope. */
export function ApiAppErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes)
    byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return applyDecorators(
    ...[...byStatus].map(([status, group]) =>
      ApiResponse({
        status,
        description: group.join(' | '),
        schema: {
          type: 'object',
          required: ['status', 'error'],
          properties: {
            status: { type: 'string', enum: ['error'] },
            error: {
              type: 'object',
              required: ['code', 'errorCode', 'message', 'trace_id'],
              properties: {
                code: { type: 'integer', example: status },
                errorCode: { type: 'string', enum: group, example: group[0] },
                message: { type: 'string', example: ERROR_MESSAGE[group[0]] },
                trace_id: { type: 'string' },
                details: {
                  description:
                    'INVALID_OTP: {attemptsLeft}; RESEND_TOO_SOON / RATE_LIMITED: {retryAfter}; VALIDATION_FAILED: [{field, message}]',
                },
              },
            },
          },
        },
      }),
    ),
  );
}
