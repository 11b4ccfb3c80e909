import { LoggerService } from '@nestjs/common';
import pino, { Logger as PinoLogger } from 'pino';

/**
 * Keys whose values never reach a log line, wherever they appear (two levels deep):
 * codes, tokens, secrets, phone numbers.
 */
const SECRET_KEYS = [
  'otp',
  'code',
  'token',
  'authorization',
  'user-jwt-token',
  'x-client-secret',
  'x-admin-key',
  'password',
  'secret',
  'phone',
  'phone_number',
  'phoneNumber',
  'to',
  'body',
  'target',
  'recipient',
  'email',
];
export const REDACT_PATHS = [
  ...SECRET_KEYS.map((key) => `["${key}"]`),
  ...SECRET_KEYS.map((key) => `*["${key}"]`),
];

/** The process logger: JSON lines, redacted. `destination` lets tests capture output. */
export function createLogger(level: string, destination?: pino.DestinationStream): PinoLogger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Lets Nest's Logger write through pino. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: PinoLogger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  /** Nest passes (message, [stack], context) or (object, message, context). */
  private write(level: pino.Level, message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    if (typeof message === 'object' && message !== null) {
      const text = typeof rest[0] === 'string' ? rest[0] : undefined;
      this.logger[level]({ context, ...message }, text);
      return;
    }
    const stack = typeof rest[0] === 'string' ? rest[0] : undefined;
    this.logger[level]({ context, ...(stack ? { stack } : {}) }, String(message));
  }
}

/**
 * What of an error may be logged: its type, message, SQLSTATE/Node code and stack; never the
 * query parameters or driver fields, which can carry phone numbers and codes.
 */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error };
  const driverCode = (error as { driverError?: { code?: unknown }; code?: unknown }).driverError
    ?.code;
  const ownCode = (error as { code?: unknown }).code;
  return {
    type: error.constructor.name,
    message: error.message,
    errorCode:
      typeof driverCode === 'string'
        ? driverCode
        : typeof ownCode === 'string'
          ? ownCode
          : undefined,
    stack: error.stack,
  };
}
