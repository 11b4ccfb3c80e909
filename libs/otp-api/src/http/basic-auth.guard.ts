import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import {
  apiSecretMatches,
  clientIdProblem,
  PartnerDirectory,
  type RegisteredClient,
} from '@app/partners';
import { UNAUTHORIZED } from '../otp-api.errors';

type OtpApiRequest = FastifyRequest & { otpApiClient?: RegisteredClient };

/** Compared against when the client is unknown, so every refusal takes the same time. */
const NO_SECRET = Buffer.alloc(32);
/** Longer than any id and secret together (and their base64). */
const MAX_AUTHORIZATION_LENGTH = 1024;
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/** `Authorization: Basic base64(id:secret)` → the pair; undefined when it is not that. */
export function basicCredentials(header: unknown): { id: string; secret: string } | undefined {
  if (typeof header !== 'string' || header.length > MAX_AUTHORIZATION_LENGTH) return undefined;
  const match = BASIC.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  const secret = decoded.slice(colon + 1);
  return secret ? { id: decoded.slice(0, colon), secret } : undefined;
}

/**
 * The OTP API's credentials (OTP-API.md): HTTP Basic, the partner client id and its API secret
 * (the /s2s credentials), the secret compared as SHA-256 digests in constant time. Anything else,
 * and a suspended client, is 401 `{"status":false,"message":"unauthorized"}` with
 * `WWW-Authenticate: Basic realm="otp"`.
 */
@Injectable()
export class BasicAuthGuard implements CanActivate {
  constructor(private readonly directory: PartnerDirectory) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<OtpApiRequest>();
    const credentials = basicCredentials(request.headers.authorization);
    if (!credentials || clientIdProblem(credentials.id) !== undefined) {
      // The same work as a wrong secret: a refusal does not tell which part was wrong.
      apiSecretMatches(credentials?.secret ?? '', NO_SECRET);
      throw UNAUTHORIZED();
    }
    const client = await this.directory.find(credentials.id);
    if (!apiSecretMatches(credentials.secret, client?.apiSecretHash ?? NO_SECRET) || !client) {
      throw UNAUTHORIZED();
    }
    if (client.status !== 'active') throw UNAUTHORIZED();
    request.otpApiClient = client;
    return true;
  }
}

/** The client the request's Basic credentials named (use with BasicAuthGuard). */
export const OtpApiClient = createParamDecorator(
  (_data: unknown, context: ExecutionContext): RegisteredClient => {
    const client = context.switchToHttp().getRequest<OtpApiRequest>().otpApiClient;
    if (!client) throw UNAUTHORIZED();
    return client;
  },
);
