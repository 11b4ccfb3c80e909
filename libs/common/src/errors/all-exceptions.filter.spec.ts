import { ArgumentsHost, Logger } from '@nestjs/common';
import { AllExceptionsFilter } from './all-exceptions.filter';
import type { ErrorEnvelope } from './error-response';

/** A host whose request has `id` and, optionally, a route's error envelope. */
function hostFor(id: string, errorEnvelope?: ErrorEnvelope) {
  const sent: { status?: number; body?: unknown } = {};
  const reply = {
    status(code: number) {
      sent.status = code;
      return reply;
    },
    headers() {
      return reply;
    },
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  const request = { id, routeOptions: { config: errorEnvelope ? { errorEnvelope } : {} } };
  const host = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
  } as unknown as ArgumentsHost;
  return { host, sent };
}

describe('AllExceptionsFilter', () => {
  afterEach(() => jest.restoreAllMocks());

  it("logs an unexpected error with the request's id, also when an envelope reshapes the body", () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    // An envelope that keeps the id elsewhere, as the app API's trace_id.
    const envelope: ErrorEnvelope = (response, _error, requestId) => ({
      status: response.status,
      headers: response.headers,
      body: { status: 'error', error: { trace_id: requestId } },
    });
    const { host, sent } = hostFor('req-7', envelope);

    new AllExceptionsFilter().catch(new Error('boom'), host);

    expect(sent).toEqual({ status: 500, body: { status: 'error', error: { trace_id: 'req-7' } } });
    expect(logged).toHaveBeenCalledWith(
      expect.objectContaining({ requestId: 'req-7' }),
      'unexpected error',
    );
  });

  it('does not log an error the envelope knows as its own answer', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const envelope: ErrorEnvelope = () => ({
      status: 401,
      headers: {},
      body: { status: false },
      unexpected: false,
    });
    const { host, sent } = hostFor('req-8', envelope);

    new AllExceptionsFilter().catch(new Error('unauthorized'), host);

    expect(sent).toEqual({ status: 401, body: { status: false } });
    expect(logged).not.toHaveBeenCalled();
  });
});
