import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import {
  AppError,
  decodeCursor,
  ErrorCode,
  MetricsService,
  Page,
  pageSize,
  toPage,
} from '@app/common';
import { AuditActor, AuditService } from '@app/audit';

/** A partner's user as its token names it. */
export interface PartnerUserRef {
  clientId: string;
  userId: string;
  walletAddress?: string;
  clientName?: string;
}

/** What the linking rules say about (user, phone) before anything is sent. */
export interface LinkState {
  /** The user is linked (to any phone); `linkChallengeId` is the challenge that made the link. */
  accountLinked: boolean;
  linkChallengeId: string | null;
  /** The phone is linked to another user of the same client. */
  phoneLinked: boolean;
  /** A phone identity exists for the number (so the user is not new). */
  phoneKnown: boolean;
}

export interface LinkedPhone {
  clientId: string;
  userId: string;
  walletAddress: string | null;
  phoneE164: string;
  phoneUserId: string;
  linkedAt: Date;
}

/** Unique constraints of the linking rules (spec §4), by the error each one means. */
const CONSTRAINT_ERRORS: Record<string, ErrorCode> = {
  uq_links_third_party_user: ErrorCode.AccountAlreadyLinked,
  uq_links_client_phone: ErrorCode.PhoneAlreadyLinked,
};

/** Who removes a link, and from where (for the audit trail). */
export interface UnlinkBy {
  actor: AuditActor;
  ip?: string;
}

interface LinkRow {
  client_id: string;
  user_id: string;
  wallet_address: string | null;
  phone_e164: string;
  phone_user_id: string;
  created_at: Date;
  created_text: string;
  link_id: string;
}

const LINK_COLUMNS = `l.client_id, t.user_id, t.wallet_address, p.phone_e164, p.id AS phone_user_id,
  l.created_at, l.created_at::text AS created_text, l.id AS link_id`;
const LINK_JOINS = `links l
  JOIN third_party_users t ON t.id = l.third_party_user_id
  JOIN phone_users p ON p.id = l.phone_user_id`;

/** Phone identities, partner users and the links between them. */
@Injectable()
export class LinkService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
  ) {}

  async linkState(
    user: PartnerUserRef,
    phoneE164: string,
    manager?: EntityManager,
  ): Promise<LinkState> {
    const rows = await (manager ?? this.dataSource).query<
      Array<{
        account_linked: boolean;
        link_challenge_id: string | null;
        phone_linked: boolean;
        phone_known: boolean;
      }>
    >(
      `SELECT own.id IS NOT NULL AS account_linked,
              own.challenge_id AS link_challenge_id,
              EXISTS (SELECT 1 FROM links l JOIN phone_users p ON p.id = l.phone_user_id
                       WHERE l.client_id = $1 AND p.phone_e164 = $3
                         AND l.third_party_user_id IS DISTINCT FROM own.third_party_user_id) AS phone_linked,
              EXISTS (SELECT 1 FROM phone_users WHERE phone_e164 = $3) AS phone_known
         FROM (SELECT 1) one
         LEFT JOIN (SELECT l.id, l.challenge_id, l.third_party_user_id
                      FROM links l JOIN third_party_users t ON t.id = l.third_party_user_id
                     WHERE t.client_id = $1 AND t.user_id = $2) own ON true`,
      [user.clientId, user.userId, phoneE164],
    );
    const row = rows[0];
    return {
      accountLinked: row.account_linked,
      linkChallengeId: row.link_challenge_id,
      phoneLinked: row.phone_linked,
      phoneKnown: row.phone_known,
    };
  }

  /** Throws the 409 the linking rules give for this state, if any (account before phone). */
  assertCanLink(state: LinkState): void {
    if (state.accountLinked) throw new AppError(ErrorCode.AccountAlreadyLinked);
    if (state.phoneLinked) throw new AppError(ErrorCode.PhoneAlreadyLinked);
  }

  /**
   * Links the user to the phone identity (created if new) in `manager`'s transaction. The unique
   * constraints decide races: a violation becomes ACCOUNT_ALREADY_LINKED / PHONE_ALREADY_LINKED.
   */
  async link(
    manager: EntityManager,
    user: PartnerUserRef,
    phoneE164: string,
    challengeId: string,
  ): Promise<{ phoneUserId: string; isNewUser: boolean }> {
    // One statement: the phone identity (xmax = 0 only on a row this statement inserted, which
    // tells "created" from "already there"), the partner user, and the link.
    let rows: Array<{ id: string; inserted: boolean }>;
    try {
      rows = await manager.query<Array<{ id: string; inserted: boolean }>>(
        `WITH phone AS (
           INSERT INTO phone_users (phone_e164) VALUES ($1)
           ON CONFLICT ON CONSTRAINT uq_phone_users_phone DO UPDATE SET phone_e164 = EXCLUDED.phone_e164
           RETURNING id, (xmax = 0) AS inserted),
         partner AS (
           INSERT INTO third_party_users (client_id, user_id, wallet_address, client_name)
           VALUES ($2, $3, $4, $5)
           ON CONFLICT ON CONSTRAINT uq_third_party_users_client_user DO UPDATE
             SET wallet_address = COALESCE(EXCLUDED.wallet_address, third_party_users.wallet_address),
                 client_name = COALESCE(EXCLUDED.client_name, third_party_users.client_name),
                 updated_at = now()
           RETURNING id),
         link AS (
           INSERT INTO links (third_party_user_id, phone_user_id, client_id, challenge_id)
           SELECT partner.id, phone.id, $2, $6 FROM partner, phone
           RETURNING phone_user_id)
         SELECT phone.id, phone.inserted FROM phone, link`,
        [
          phoneE164,
          user.clientId,
          user.userId,
          user.walletAddress ?? null,
          user.clientName ?? null,
          challengeId,
        ],
      );
    } catch (error) {
      const code = linkConflict(error);
      if (code) throw new AppError(code);
      throw error;
    }
    const [phone] = rows;
    return { phoneUserId: phone.id, isNewUser: phone.inserted };
  }

  /**
   * Removes the user's link and writes the `unlinked` event, in one transaction. Returns the
   * phone it was linked to, or undefined when there was none. The phone identity stays (other
   * clients' users may be linked to it).
   */
  async unlink(clientId: string, userId: string, by: UnlinkBy): Promise<string | undefined> {
    const phoneE164 = await this.dataSource.transaction(async (manager) => {
      const [rows] = await manager.query<[Array<{ phone_e164: string }>, number]>(
        `DELETE FROM links l
          USING third_party_users t, phone_users p
          WHERE t.id = l.third_party_user_id AND p.id = l.phone_user_id
            AND t.client_id = $1 AND t.user_id = $2
          RETURNING p.phone_e164`,
        [clientId, userId],
      );
      const phone = rows[0]?.phone_e164;
      if (phone) {
        await this.audit.record(
          [{ event: 'unlinked', actor: by.actor, clientId, userId, phoneE164: phone, ip: by.ip }],
          manager,
        );
      }
      return phone;
    });
    if (phoneE164) this.metrics.links.inc({ result: 'unlinked' });
    return phoneE164;
  }

  /** The user's link with its phone, or undefined. */
  async findLinkedPhone(clientId: string, userId: string): Promise<LinkedPhone | undefined> {
    const rows = await this.dataSource.query<LinkRow[]>(
      `SELECT ${LINK_COLUMNS} FROM ${LINK_JOINS} WHERE t.client_id = $1 AND t.user_id = $2`,
      [clientId, userId],
    );
    return rows[0] && toLinkedPhone(rows[0]);
  }

  /** Every link of a phone, across clients (one user per client at most). */
  async findByPhone(phoneE164: string): Promise<LinkedPhone[]> {
    const rows = await this.dataSource.query<LinkRow[]>(
      `SELECT ${LINK_COLUMNS} FROM ${LINK_JOINS} WHERE p.phone_e164 = $1 ORDER BY l.created_at, l.id`,
      [phoneE164],
    );
    return rows.map(toLinkedPhone);
  }

  /** A client's links, oldest first, a page at a time. */
  async listByClient(
    clientId: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<Page<LinkedPhone>> {
    const limit = pageSize(options.limit);
    const [afterAt, afterId] = options.cursor
      ? decodeCursor(options.cursor, ['timestamp', 'uuid'])
      : [null, null];
    const rows = await this.dataSource.query<LinkRow[]>(
      `SELECT ${LINK_COLUMNS} FROM ${LINK_JOINS}
        WHERE l.client_id = $1
          AND ($2::timestamptz IS NULL OR (l.created_at, l.id) > ($2::timestamptz, $3::uuid))
        ORDER BY l.created_at, l.id
        LIMIT $4`,
      [clientId, afterAt, afterId, limit + 1],
    );
    return toPage(rows, limit, toLinkedPhone, (row) => [row.created_text, row.link_id]);
  }
}

function toLinkedPhone(row: LinkRow): LinkedPhone {
  return {
    clientId: row.client_id,
    userId: row.user_id,
    walletAddress: row.wallet_address,
    phoneE164: row.phone_e164,
    phoneUserId: row.phone_user_id,
    linkedAt: row.created_at,
  };
}

function linkConflict(error: unknown): ErrorCode | undefined {
  if (!(error instanceof QueryFailedError)) return undefined;
  const driverError = error.driverError as { code?: string; constraint?: string };
  if (driverError.code !== '23505' || !driverError.constraint) return undefined;
  return CONSTRAINT_ERRORS[driverError.constraint];
}
