import { Inject, Injectable } from '@nestjs/common';
import { sign } from 'jsonwebtoken';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  AppError,
  Clock,
  ErrorCode,
  Page,
  parseE164,
  PartnerUserRef,
  phoneTarget,
} from '@app/common';
import { AuditQuery, AuditService } from '@app/audit';
import { LinkedPhone, LinkRepository } from '@app/users';
import { OtpLimits, PumpingScope } from '@app/otp';
import { MessageHistory, MessageView } from '@app/notifications';
import {
  AppKeys,
  AppKeyView,
  ClientSettings,
  ClientStatus,
  ClientView,
  IssuedAppKey,
  IssuedKey,
  NewClient,
  PartnerDirectory,
  PartnerRegistry,
  PublicKeyInput,
  partnerTokenClaims,
} from '@app/partners';
import {
  SessionDirectory,
  SessionQuery,
  SessionStore,
  SessionView,
  SigningKeys,
} from '@app/sessions';

/** A link as operators see it: the full phone (they look links up by it). */
export interface LinkView {
  clientId: string;
  userId: string;
  walletAddress: string | null;
  phone: string;
  phoneUserId: string;
  linkedAt: string;
}

/** Which links to find: by phone (across clients), one partner user, or a client's page. */
export interface LinkQuery {
  phone?: string;
  clientId?: string;
  userId?: string;
  limit?: number;
  cursor?: string;
}

export interface MintedToken {
  token: string;
  kid: string;
  expiresAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

/** How operators change things: where the audit says an admin did it. */
const BY_ADMIN = { actor: 'admin' } as const;

/**
 * What operators can do, for the CLI and the /admin API alike: manage partner clients, look up
 * and remove links, read the audit trail. Every change is audited with actor `admin`.
 */
@Injectable()
export class AdminService {
  constructor(
    private readonly registry: PartnerRegistry,
    private readonly directory: PartnerDirectory,
    private readonly links: LinkRepository,
    private readonly limits: OtpLimits,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly appKeys: AppKeys,
    private readonly sessions: SessionStore,
    private readonly sessionDirectory: SessionDirectory,
    private readonly signingKeys: SigningKeys,
    private readonly messageHistory: MessageHistory,
  ) {}

  /** Sessions (apps' and websites') by session, client or phone (E.164), newest first. */
  listSessions(query: SessionQuery): Promise<Page<SessionView>> {
    return this.sessionDirectory.list({
      ...query,
      phone: query.phone === undefined ? undefined : parseE164(query.phone),
    });
  }

  /**
   * Ends sessions, apps' and websites', at once (their tokens or cookies stop working on every
   * instance): one session, a phone's (within a client, when given), or a client's. How many ended.
   */
  async endSessions(which: {
    sessionId?: string;
    clientId?: string;
    phone?: string;
  }): Promise<{ ended: number }> {
    if (which.sessionId !== undefined) {
      const ended = await this.sessions.end({
        sessionId: which.sessionId,
        clientId: which.clientId,
        reason: 'revoked_session',
      });
      if (
        ended === 0 &&
        (await this.sessionDirectory.list({ sessionId: which.sessionId })).items.length === 0
      ) {
        throw new AppError(ErrorCode.RecordNotFound, {}, 'no such session');
      }
      return { ended };
    }
    if (which.phone !== undefined) {
      const phoneUserId = await this.sessionDirectory.phoneUserOf(parseE164(which.phone));
      if (!phoneUserId) return { ended: 0 };
      return {
        ended: await this.sessions.end({
          phoneUserId,
          clientId: which.clientId,
          reason: 'revoked_user',
        }),
      };
    }
    if (which.clientId !== undefined) {
      await this.registry.get(which.clientId); // RECORD_NOT_FOUND for an unknown client
      return {
        ended: await this.sessions.end({ clientId: which.clientId, reason: 'revoked_client' }),
      };
    }
    throw new AppError(ErrorCode.ValidationFailed, {
      details: [{ field: 'session', message: 'name a session, a phone or a client' }],
    });
  }

  listSigningKeys() {
    return this.signingKeys.list();
  }

  /** A new key signs our tokens; the old one keeps verifying until retired. */
  rotateSigningKey(): Promise<{ kid: string; retiring: string[] }> {
    return this.signingKeys.rotate();
  }

  /** The key leaves the JWKS; tokens it signed are refused from now on. */
  retireSigningKey(kid: string): Promise<{ kid: string; status: 'retired' }> {
    return this.signingKeys.retire(kid);
  }

  async createClient(input: NewClient): Promise<{
    client: ClientView;
    jwtKey: IssuedKey;
    apiSecret: string;
    appKey: IssuedAppKey;
  }> {
    const created = await this.registry.create(input);
    this.directory.forget(created.client.id); // it may be cached as "not registered"
    const appKey = await this.appKeys.issue(created.client.id, { withClient: true });
    return { ...created, appKey: this.changed(created.client.id, appKey) };
  }

  /** A new publishable app key (`x-api-key`, APP-AUTH.md), shown this once. */
  async issueAppKey(clientId: string): Promise<IssuedAppKey> {
    return this.changed(clientId, await this.appKeys.issue(clientId));
  }

  listAppKeys(
    clientId: string,
  ): Promise<{ appKeys: AppKeyView[]; allowedOrigins: string[] | null }> {
    return this.appKeys.list(clientId);
  }

  async retireAppKey(clientId: string, keyId: string) {
    return this.changed(clientId, await this.appKeys.retire(clientId, keyId));
  }

  /** The browser origins the client's app keys may be used from; null or [] allows any. */
  async setAllowedOrigins(clientId: string, origins: string[] | null) {
    return this.changed(clientId, await this.appKeys.setAllowedOrigins(clientId, origins));
  }

  listClients(options: { status?: ClientStatus; limit?: number; cursor?: string }) {
    return this.registry.list(options);
  }

  getClient(id: string): Promise<ClientView> {
    return this.registry.get(id);
  }

  async updateClient(id: string, settings: ClientSettings): Promise<ClientView> {
    return this.changed(id, await this.registry.update(id, settings));
  }

  async setClientStatus(id: string, status: ClientStatus): Promise<ClientView> {
    return this.changed(id, await this.registry.setStatus(id, status));
  }

  async rotateKey(id: string, input: PublicKeyInput = {}): Promise<IssuedKey> {
    return this.changed(id, await this.registry.addKey(id, input));
  }

  async retireKey(id: string, kid: string): Promise<ClientView> {
    return this.changed(id, await this.registry.retireKey(id, kid));
  }

  async rotateApiSecret(id: string): Promise<{ apiSecret: string }> {
    return this.changed(id, { apiSecret: await this.registry.rotateApiSecret(id) });
  }

  /** Links of a phone (every client), of one partner user, or a page of a client's links. */
  async findLinks(query: LinkQuery): Promise<Page<LinkView>> {
    if (query.phone !== undefined) {
      const phone = parseE164(query.phone);
      const links = (await this.links.findByPhone(phone)).filter(
        (link) =>
          (query.clientId === undefined || link.clientId === query.clientId) &&
          (query.userId === undefined || link.userId === query.userId),
      );
      return { items: links.map(toLinkView), nextCursor: null };
    }
    if (query.clientId !== undefined && query.userId !== undefined) {
      const link = await this.links.findLinkedPhone(query.clientId, query.userId);
      return { items: link ? [toLinkView(link)] : [], nextCursor: null };
    }
    if (query.clientId !== undefined) {
      const page = await this.links.listByClient(query.clientId, query);
      return { items: page.items.map(toLinkView), nextCursor: page.nextCursor };
    }
    throw new AppError(ErrorCode.ValidationFailed, {
      details: [{ field: 'phone', message: 'give a phone, a client, or a client and a user' }],
    });
  }

  async unlink(clientId: string, userId: string): Promise<{ message: string; phone: string }> {
    const phone = await this.links.unlink(clientId, userId, BY_ADMIN);
    if (!phone) throw new AppError(ErrorCode.RecordNotFound, {}, 'no phone is linked to this user');
    return { message: 'Users unlinked successfully', phone };
  }

  /**
   * Gives a phone its hour back (its sends and wrong codes are forgotten): the way to let an owner
   * in whom an attacker locked out with wrong codes or used-up sends (docs/security.md). Audited.
   */
  async clearLimits(phone: string): Promise<{ phone: string; sends: number; failures: number }> {
    const target = phoneTarget(parseE164(phone));
    const cleared = await this.limits.clearTarget(target);
    await this.audit.record([
      { event: 'limits_cleared', actor: 'admin', target, detail: JSON.stringify(cleared) },
    ]);
    return { phone: target.value, ...cleared };
  }

  /** The pumping guard's regions and number blocks of the last hour, paused ones first. */
  async pumpingStatus(): Promise<{ scopes: PumpingScope[] }> {
    return { scopes: await this.limits.pumpingStatus() };
  }

  /**
   * Opens a region (`JM`, or `+881` for numbers without a country) or a number block
   * (`+1876555`) the pumping guard paused, by forgetting its counts. Audited.
   */
  async clearPumping(where: { region?: string; block?: string }): Promise<{ cleared: string }> {
    const scope =
      where.region !== undefined
        ? `region:${regionName(where.region)}`
        : where.block !== undefined
          ? `block:${blockName(where.block)}`
          : undefined;
    if (!scope) {
      throw new AppError(ErrorCode.ValidationFailed, {
        details: [{ field: 'region', message: 'give a region or a block' }],
      });
    }
    if ((await this.limits.clearPumping(scope)) === 0) {
      throw new AppError(ErrorCode.RecordNotFound, {}, `no codes counted for ${scope}`);
    }
    await this.audit.record([{ event: 'pumping_cleared', actor: 'admin', detail: scope }]);
    return { cleared: scope };
  }

  /**
   * The messages of a code (challengeId) or of a phone, newest first: channel, state, provider
   * id, times and each delivery status with its time. Never a payload or a code.
   */
  async listMessages(query: { challengeId?: string; phone?: string }): Promise<{
    items: MessageView[];
  }> {
    if ((query.challengeId === undefined) === (query.phone === undefined)) {
      throw new AppError(ErrorCode.ValidationFailed, {
        details: [{ field: 'challengeId', message: 'give a challengeId or a phone' }],
      });
    }
    if (query.challengeId !== undefined && !UUID.test(query.challengeId)) {
      throw new AppError(ErrorCode.ValidationFailed, {
        details: [{ field: 'challengeId', message: 'challengeId must be a UUID' }],
      });
    }
    const items = await this.messageHistory.find({
      challengeId: query.challengeId,
      recipient: query.phone === undefined ? undefined : parseE164(query.phone),
    });
    return { items };
  }

  searchAudit(query: Omit<AuditQuery, 'phoneE164'> & { phone?: string }) {
    const { phone, ...rest } = query;
    const search: AuditQuery = { ...rest };
    if (phone !== undefined) search.phoneE164 = parseE164(phone);
    return this.audit.search(search);
  }

  /**
   * A partner JWT for one of the client's users, signed with its newest active HS256 key (or
   * the one named): what the partner's backend would issue. For trying the API in development;
   * refused in production, where only the partner signs its users' tokens.
   */
  async mintToken(
    input: PartnerUserRef & {
      kid?: string;
      ttlSeconds?: number;
      walletAddress?: string;
    },
  ): Promise<MintedToken> {
    if (this.config.isProduction) {
      throw new AppError(ErrorCode.ValidationFailed, {
        details: [{ field: 'client', message: 'tokens are minted by partners in production' }],
      });
    }
    const ttl = input.ttlSeconds ?? 3600;
    if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) {
      throw new AppError(ErrorCode.ValidationFailed, {
        details: [{ field: 'ttl', message: `ttl must be 1-${MAX_TOKEN_TTL_SECONDS} seconds` }],
      });
    }
    const client = await this.registry.get(input.clientId);
    const { kid, secret } = await this.registry.signingSecret(input.clientId, input.kid);
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const { clientId, userId } = input;
    const token = sign(
      {
        ...partnerTokenClaims({
          clientId,
          userId,
          clientName: client.name,
          walletAddress: input.walletAddress,
        }),
        iat: now,
        exp: now + ttl,
      },
      secret,
      { algorithm: 'HS256', keyid: kid },
    );
    return { token, kid, expiresAt: new Date((now + ttl) * 1000).toISOString() };
  }

  /**
   * After a change of the client: this instance forgets its cached copy at once (the others
   * hear of it from the database within moments).
   */
  private changed<T>(clientId: string, result: T): T {
    this.directory.forget(clientId);
    this.appKeys.forget(clientId);
    return result;
  }
}

function toLinkView(link: LinkedPhone): LinkView {
  return {
    clientId: link.clientId,
    userId: link.userId,
    walletAddress: link.walletAddress,
    phone: link.phoneE164,
    phoneUserId: link.phoneUserId,
    linkedAt: link.linkedAt.toISOString(),
  };
}

/** A region as the pumping guard names it: an ISO country code (`JM`) or a calling code (`+881`). */
function regionName(region: string): string {
  const name = region.trim();
  if (/^[A-Za-z]{2}$/.test(name)) return name.toUpperCase();
  if (/^\+[1-9]\d{0,2}$/.test(name)) return name;
  throw new AppError(ErrorCode.ValidationFailed, {
    details: [
      { field: 'region', message: 'region must be a country code (JM) or a calling code (+881)' },
    ],
  });
}

/** A number block as the pumping guard names it: an E.164 number without its last 4 digits. */
function blockName(block: string): string {
  const name = block.trim();
  if (/^\+[1-9]\d{2,14}$/.test(name)) return name;
  throw new AppError(ErrorCode.ValidationFailed, {
    details: [{ field: 'block', message: 'block must be + and digits, e.g. +1876555' }],
  });
}
