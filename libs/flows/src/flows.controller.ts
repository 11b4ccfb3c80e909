import {
  applyDecorators,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCookieAuth,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '@app/config';
import { MALFORMED_JSON } from '@app/common';
import { AccessTokens, WebSessions } from '@app/sessions';
import { FlowDefinitions } from './flow-definitions';
import { DEFAULT_REALM, normalizeOrigin, Realm, Realms } from './realms';
import { BAD_REQUEST, FlowAnswer, SignInFlows } from './sign-in-flows';

/** The session cookie (FLOWS.md), fixed. */
export const SESSION_COOKIE = 'Gortas-Persistence';
const REALM_PARAM = /^[\x21-\x7e]{1,128}$/;
const FLOW_PARAM = /^[A-Za-z0-9_-]{1,64}$/;
const NOT_FOUND = { error: 'flow not found' };
const SESSION_FAIL = { status: 'fail' };
const ORIGIN_REFUSED = { error: 'origin not allowed' };

const FlowParams = () =>
  applyDecorators(
    ApiParam({ name: 'realm', description: 'A partner client id, or `default`' }),
    ApiParam({ name: 'flow', description: '`otp`, `email-otp`, or one of FLOWS_FILE' }),
  );
const MODULE_SCHEMA = {
  type: 'object',
  description: 'The module the flow asks for next, or `{"sessionId"}` after the last one',
  properties: {
    flowId: { type: 'string' },
    module: { type: 'string', enum: ['phone', 'email', 'otp'] },
    credentials: { type: 'object', additionalProperties: true },
    sessionId: { type: 'string' },
  },
};
const ERROR_SCHEMA = { type: 'object', properties: { error: { type: 'string' } } };
const SESSION_SCHEMA = {
  type: 'object',
  properties: {
    sessionId: { type: 'string' },
    realm: { type: 'string' },
    user_id: { type: 'string', nullable: true },
    phone_number: { type: 'string', nullable: true },
    email: { type: 'string', description: 'Only for a session signed in with an email address' },
    created_at: { type: 'string', format: 'date-time' },
    expires_at: { type: 'string', format: 'date-time' },
  },
};
const FAIL_SCHEMA = { type: 'object', properties: { status: { type: 'string', enum: ['fail'] } } };

/**
 * Websites' sign-in flows with a persistent session (FLOWS.md, Gortas-compatible): the page
 * renders whichever module the flow asks for, and the last one sets the `Gortas-Persistence`
 * cookie. Answers are the contract's own shapes, not the service's error envelope.
 */
@ApiTags('sign-in flows (Gortas)')
@Controller('gortas/auth/v1/:realm')
export class FlowsController {
  private readonly secureCookie: boolean;

  constructor(
    private readonly flows: SignInFlows,
    private readonly definitions: FlowDefinitions,
    private readonly realms: Realms,
    private readonly sessions: WebSessions,
    private readonly tokens: AccessTokens,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.secureCookie = config.publicUrl?.startsWith('https:') ?? false;
  }

  @Get('session')
  @ApiOperation({ summary: 'The session of the cookie (or Authorization: Bearer <sessionId>)' })
  @ApiParam({ name: 'realm', description: 'A partner client id, or `default`' })
  @ApiCookieAuth(SESSION_COOKIE)
  @ApiBearerAuth()
  @ApiResponse({ status: 200, description: 'The live session', schema: SESSION_SCHEMA })
  @ApiResponse({
    status: 401,
    description: 'No session, or an unknown or ended one',
    schema: FAIL_SCHEMA,
  })
  async session(
    @Param('realm') realm: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const sessionId = presentedSession(request);
    const session = sessionId === undefined ? undefined : await this.sessions.find(sessionId);
    // A session of a suspended client's realm is no session while the client stays suspended.
    if (
      !session ||
      (session.clientId ?? DEFAULT_REALM) !== realm ||
      !(await this.realms.find(realm))
    ) {
      void reply.status(401);
      return SESSION_FAIL;
    }
    return {
      sessionId,
      realm,
      user_id:
        session.phoneUserId === null
          ? null
          : session.clientId === null
            ? session.phoneUserId
            : this.tokens.pairwiseSubject(session.clientId, session.phoneUserId),
      phone_number: session.phoneE164,
      ...(session.email === null ? {} : { email: session.email }),
      created_at: session.createdAt.toISOString(),
      expires_at: session.expiresAt.toISOString(),
    };
  }

  @Delete('session')
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign out: ends the session and clears the cookie' })
  @ApiParam({ name: 'realm', description: 'A partner client id, or `default`' })
  @ApiCookieAuth(SESSION_COOKIE)
  @ApiBearerAuth()
  @ApiResponse({
    status: 200,
    description: 'Ended',
    schema: { type: 'object', properties: { status: { type: 'string', enum: ['success'] } } },
  })
  @ApiResponse({
    status: 401,
    description: 'No session, or an unknown or ended one',
    schema: FAIL_SCHEMA,
  })
  @ApiResponse({
    status: 403,
    description: 'The cookie came from a page of another origin',
    schema: ERROR_SCHEMA,
  })
  async signOut(
    @Param('realm') realmId: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const realm = REALM_PARAM.test(realmId) ? await this.realms.find(realmId) : undefined;
    if (realm && !this.originAllowed(realm, request)) {
      void reply.status(403);
      return ORIGIN_REFUSED;
    }
    const sessionId = presentedSession(request);
    const session = sessionId === undefined ? undefined : await this.sessions.find(sessionId);
    void reply.header('set-cookie', this.cookie('', 0));
    if (
      !session ||
      (session.clientId ?? DEFAULT_REALM) !== realmId ||
      !(await this.sessions.end(sessionId))
    ) {
      void reply.status(401);
      return SESSION_FAIL;
    }
    return { status: 'success' };
  }

  @Get(':flow')
  @FlowParams()
  @ApiOperation({ summary: 'Start a flow: its first module' })
  @ApiResponse({ status: 200, description: 'The first module', schema: MODULE_SCHEMA })
  @ApiResponse({ status: 404, description: 'Unknown realm or flow', schema: ERROR_SCHEMA })
  async start(
    @Param('realm') realmId: string,
    @Param('flow') flow: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const found = await this.flowOf(realmId, flow);
    if (!found) return this.send(reply, { status: 404, body: NOT_FOUND });
    return this.send(reply, await this.flows.start(found.realm, flow, found.modules));
  }

  @Post(':flow')
  @HttpCode(200)
  @FlowParams()
  @ApiOperation({
    summary: "Answer the flow's module (or start a flow: no flowId)",
    description:
      'Wrong codes, expired codes and numbers that cannot be sent to answer 200 with the module ' +
      'again and a `message`; the right code at the last module answers `{"sessionId"}` and ' +
      'sets the `Gortas-Persistence` cookie.',
  })
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        flowId: { type: 'string' },
        module: { type: 'string', enum: ['phone', 'email', 'otp'] },
        credentials: {
          type: 'object',
          additionalProperties: { type: 'object', properties: { value: { type: 'string' } } },
        },
      },
    },
  })
  @ApiResponse({
    status: 200,
    description: 'The next module, or the session',
    schema: MODULE_SCHEMA,
  })
  @ApiResponse({
    status: 400,
    description: '`flow not found` (unknown or expired flowId) or `bad request`',
    schema: ERROR_SCHEMA,
  })
  @ApiResponse({
    status: 403,
    description: 'The cookie came from a page of another origin',
    schema: ERROR_SCHEMA,
  })
  @ApiResponse({ status: 404, description: 'Unknown realm or flow', schema: ERROR_SCHEMA })
  async answer(
    @Param('realm') realmId: string,
    @Param('flow') flow: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (body === MALFORMED_JSON) return this.send(reply, BAD_REQUEST);
    const found = await this.flowOf(realmId, flow);
    if (!found) return this.send(reply, { status: 404, body: NOT_FOUND });
    if (!this.originAllowed(found.realm, request)) {
      return this.send(reply, { status: 403, body: ORIGIN_REFUSED });
    }
    const answer = await this.flows.post(found.realm, flow, found.modules, body, {
      ip: request.ip,
      acceptLanguage: request.headers['accept-language'],
    });
    return this.send(reply, answer);
  }

  private async flowOf(realmId: string, flow: string) {
    if (!REALM_PARAM.test(realmId) || !FLOW_PARAM.test(flow)) return undefined;
    const modules = this.definitions.find(realmId, flow);
    if (!modules) return undefined;
    const realm = await this.realms.find(realmId);
    return realm && { realm, modules };
  }

  /**
   * A request that carries the session cookie must come from a page of the realm's origins, or
   * name no origin (not a browser's cross-site request): another site's page cannot act with
   * the user's session. SameSite=Lax keeps the cookie off most cross-site requests already.
   */
  private originAllowed(realm: Realm, request: FastifyRequest): boolean {
    const origin = request.headers.origin;
    if (origin === undefined || cookieValues(request).length === 0) return true;
    return realm.allowedOrigins.has(normalizeOrigin(origin));
  }

  private send(reply: FastifyReply, answer: FlowAnswer) {
    void reply.status(answer.status).header('cache-control', 'no-store');
    if (answer.sessionId !== undefined) {
      void reply.header(
        'set-cookie',
        this.cookie(answer.sessionId, this.config.sessions.sessionTtlSeconds),
      );
    }
    return answer.body;
  }

  /** The cookie of FLOWS.md: `Secure` when the service is served over https. */
  private cookie(value: string, maxAge: number): string {
    const secure = this.secureCookie ? '; Secure' : '';
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure}`;
  }
}

/** Every value of the session cookie the request carries (a browser may send several). */
function cookieValues(request: FastifyRequest): string[] {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return [];
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${SESSION_COOKIE}=`))
    .map((part) => part.slice(SESSION_COOKIE.length + 1));
}

/** `Authorization: Bearer <sessionId>` first, else the cookie. */
function presentedSession(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    return match?.[1];
  }
  return cookieValues(request)[0];
}
