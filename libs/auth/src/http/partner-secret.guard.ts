import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from '@app/common';
import {
  apiSecretMatches,
  clientIdProblem,
  PartnerDirectory,
  type RegisteredClient,
} from '@app/partners';

type S2sRequest = FastifyRequest & { partnerClient?: RegisteredClient };

/** Compared against when the client is unknown, so both answers take the same time. */
const NO_SECRET = Buffer.alloc(32);
const MAX_SECRET_LENGTH = 256;

function refused(reason: string): AppError {
  return new AppError(ErrorCode.Unauthorized, {}, reason);
}

/**
 * The server-to-server API: partner backends authenticate with their client id and API secret
 * (`x-client-id`, `x-client-secret`); the secret is checked against its stored hash.
 */
@Injectable()
export class PartnerSecretGuard implements CanActivate {
  constructor(private readonly directory: PartnerDirectory) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<S2sRequest>();
    const id = request.headers['x-client-id'];
    const secret = request.headers['x-client-secret'];
    if (typeof id !== 'string' || typeof secret !== 'string' || !id || !secret) {
      throw refused('client credentials missing');
    }
    // An id no client can have is refused without a lookup.
    if (clientIdProblem(id) !== undefined || secret.length > MAX_SECRET_LENGTH) {
      throw refused('client credentials invalid');
    }
    const client = await this.directory.find(id);
    if (!apiSecretMatches(secret, client?.apiSecretHash ?? NO_SECRET) || !client) {
      throw refused('client credentials invalid');
    }
    if (client.status !== 'active') throw refused('client is suspended');
    request.partnerClient = client;
    return true;
  }
}

/** The authenticated partner client of the request (use with PartnerSecretGuard). */
export const PartnerClientOf = createParamDecorator(
  (_data: unknown, context: ExecutionContext): RegisteredClient => {
    const client = context.switchToHttp().getRequest<S2sRequest>().partnerClient;
    if (!client) throw refused('client credentials missing');
    return client;
  },
);
