/** Network and server-state failures that mean "the database cannot be reached right now". */
const UNREACHABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

/**
 * SQLSTATE classes/codes: connection exceptions (08), statement timeout (57014), shutdown and
 * startup (57P0x), too many connections (53300).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57014|57P0[1-4]|53300)$/;

const UNREACHABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection terminated unexpectedly',
  'embedded database pool has ended',
  'Query read timeout',
];

/** True when the error (or the driver error it wraps) says the database is unavailable. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    if (typeof current !== 'object') return false;
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (
      typeof code === 'string' &&
      (UNREACHABLE_NODE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))
    ) {
      return true;
    }
    if (
      typeof message === 'string' &&
      UNREACHABLE_MESSAGES.some((text) => message.includes(text))
    ) {
      return true;
    }
    const wrapped = current as { driverError?: unknown; cause?: unknown };
    current = wrapped.driverError ?? wrapped.cause;
  }
  return false;
}
