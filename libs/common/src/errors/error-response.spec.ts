import { toErrorResponse } from './error-response';

/** An error as the `http-errors` package (used by @fastify/send) builds it. */
function httpError(status: number, message: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: true });
}

describe('toErrorResponse', () => {
  it.each([
    [403, 404, 'NOT_FOUND'],
    [404, 404, 'NOT_FOUND'],
    [400, 400, 'VALIDATION_FAILED'],
    [416, 400, 'VALIDATION_FAILED'],
    [413, 413, 'PAYLOAD_TOO_LARGE'],
  ])('maps an error carrying status %i to %i %s without its message', (status, expected, code) => {
    const response = toErrorResponse(httpError(status, 'ENOENT /srv/secret/file'), 'req-1');
    expect(response.status).toBe(expected);
    expect(response.body.error).toBe(code);
    expect(response.unexpected).toBe(false);
    expect(JSON.stringify(response.body)).not.toContain('/srv/secret');
  });

  it.each([
    ['a plain error', new Error('boom')],
    ['a 5xx status', httpError(502, 'upstream')],
    [
      'a status that is not a number',
      Object.assign(new Error('x'), { status: '404', expose: true }),
    ],
    ['a provider error with a 4xx status', Object.assign(new Error('x'), { status: 400 })],
    ['a thrown string', 'boom'],
    ['null', null],
  ])('keeps %s a 500 INTERNAL carrying only the request id', (_label, error) => {
    const response = toErrorResponse(error, 'req-2');
    expect(response).toMatchObject({
      status: 500,
      body: { statusCode: 500, error: 'INTERNAL', requestId: 'req-2' },
      unexpected: true,
    });
  });
});
