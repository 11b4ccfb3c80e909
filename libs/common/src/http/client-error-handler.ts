import type { Socket } from 'node:net';
import { ERROR_STATUS, ErrorCode } from '../errors/error-code';

/**
 * Answers requests Node's HTTP parser refuses before the app sees them (headers over the size
 * limit, control characters in a header, a broken request line) in the contract's error shape.
 * Headers too large: 431 with PAYLOAD_TOO_LARGE; anything else unreadable: 400 VALIDATION_FAILED.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) return;
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : ERROR_STATUS[ErrorCode.ValidationFailed];
  const body = JSON.stringify(
    tooLarge
      ? {
          statusCode: status,
          error: ErrorCode.PayloadTooLarge,
          message: 'request headers too large',
        }
      : {
          statusCode: status,
          error: ErrorCode.ValidationFailed,
          message: 'request could not be parsed',
          details: [],
        },
  );
  socket.end(
    [
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}`,
      'Connection: close',
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
  );
}
