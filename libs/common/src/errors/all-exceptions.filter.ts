import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorEnvelope, toErrorResponse } from './error-response';
import { describeError } from '../logging/logger';

/** The single place where errors become HTTP responses (Nest side; Fastify's errors use the same mapping). */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const requestId = String(request.id);
    const response = toErrorResponse(error, requestId);
    const envelope = (request.routeOptions?.config as { errorEnvelope?: ErrorEnvelope } | undefined)
      ?.errorEnvelope;
    sendError(
      reply,
      envelope ? { ...response, ...envelope(response, error, requestId) } : response,
      error,
      this.logger,
      requestId,
    );
  }
}

/**
 * Sends an error response; an unexpected one is logged first with the request's id, which its
 * body carries in one shape or another (`requestId`, the app API's `trace_id`).
 */
export function sendError(
  reply: FastifyReply,
  response: Omit<ReturnType<typeof toErrorResponse>, 'body'> & { body: object },
  error: unknown,
  logger: Pick<Logger, 'error'>,
  requestId: string,
): void {
  if (response.unexpected) {
    logger.error({ err: describeError(error), requestId }, 'unexpected error');
  }
  void reply.status(response.status).headers(response.headers).send(response.body);
}
