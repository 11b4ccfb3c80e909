import { ERROR_MESSAGE, ERROR_STATUS, ErrorCode } from './error-code';

/** Extra fields the contract adds to some error bodies. */
export interface AppErrorExtra {
  attemptsLeft?: number;
  retryAfter?: number;
  details?: Array<{ field: string; message: string }>;
}

/** A failure the caller can act on; the global filter renders it as `{statusCode, error, message, ...extra}`. */
export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly extra: AppErrorExtra = {},
    message: string = ERROR_MESSAGE[code],
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}
