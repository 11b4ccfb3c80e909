import type { Socket } from 'node:net';
import { ERROR_STATUS, ErrorCode } from '../errors/error-code';

interface ClientErrorAnswer {
  status: number;
  reason: string;
  body: Record<string, unknown>;
}

const HEADERS_TOO_LARGE: ClientErrorAnswer = {
  status: 431,
  reason: 'Request Header Fields Too Large',
  body: { error: ErrorCode.PayloadTooLarge, message: 'request headers too large' },
};

/** HTTP_REQUEST_TIMEOUT_MS or HTTP_HEADERS_TIMEOUT_MS passed before the request arrived whole. */
const TIMED_OUT: ClientErrorAnswer = {
  status: 408,
  reason: 'Request Timeout',
  body: { error: ErrorCode.ValidationFailed, message: 'request not received in time', details: [] },
};

const UNREADABLE: ClientErrorAnswer = {
  status: ERROR_STATUS[ErrorCode.ValidationFailed],
  reason: 'Bad Request',
  body: { error: ErrorCode.ValidationFailed, message: 'request could not be parsed', details: [] },
};

function answerFor(code: string | undefined): ClientErrorAnswer {
  if (code === 'HPE_HEADER_OVERFLOW') return HEADERS_TOO_LARGE;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return TIMED_OUT;
  return UNREADABLE;
}

/**
 * Answers requests Node's HTTP server refuses before the app sees them (headers over the size
 * limit, control characters in a header, a broken request line, a request not received in
 * time) in the contract's error shape, then closes the connection.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // As Node's own handler: nothing to say on a reset, or once an answer has begun.
  const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) {
    socket.destroy();
    return;
  }
  const { status, reason, body } = answerFor(error.code);
  const text = JSON.stringify({ statusCode: status, ...body });
  socket.end(
    [
      `HTTP/1.1 ${status} ${reason}`,
      'Connection: close',
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(text)}`,
      '',
      text,
    ].join('\r\n'),
  );
}
