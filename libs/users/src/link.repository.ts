import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { DataSource, QueryFailedError } from 'typeorm';
import {
  Clock,
  decodeCursor,
  ErrorCode,
  MetricsService,
  Page,
  pageSize,
  PartnerUserRef,
  phoneTarget,
  toPage,
} from '@app/common';
import { AuditActor, AuditService } from '@app/audit';
import { jsonArgs, perTurnBatcher, Sql, sqlFunctionCall, statement } from '@app/database';

export interface LinkedPhone extends PartnerUserRef {
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

/** A link probe counted, or refused past the user's or the client's hourly budget. */
export type LinkProbeOutcome = { limited: false } | { limited: true; retryAfter: number };

const COUNT_PROBE = sqlFunctionCall<
  PartnerUserRef & { now: Date; maxPerUser: number; maxPerClient: number },
  { outcome: 'counted' } | { outcome: 'limited'; retry_after: number }
>('link_count_probe', {
  clientId: 'varchar',
  userId: 'varchar',
  now: 'timestamptz',
  maxPerUser: 'integer',
  maxPerClient: 'integer',
});

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

/**
 * The read path (linked-mobile-number, /s2s): the links of several users in one statement, each
 * row tagged with its user's position in the arrays.
 */
const LINKS_OF_USERS = statement(
  `SELECT k.i::int AS i, ${LINK_COLUMNS}
     FROM ${LINK_JOINS}
     JOIN unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(client_id, user_id, i)
       ON t.client_id = k.client_id AND t.user_id = k.user_id`,
);

/** Most users one LINKS_OF_USERS statement looks up. */
const LINK_BATCH_LIMIT = 100;

/**
 * Phone identities, partner users and the links between them. Links are made by link_phone
 * (sql/), inside the transaction of the use case that verified the phone.
 */
@Injectable()
export class LinkRepository {
  /** The read path's lookups of one turn of the event loop, as one statement. */
  private readonly linkLoader = perTurnBatcher<PartnerUserRef, LinkRow | undefined>(
    (keys) => this.loadLinks(keys),
    LINK_BATCH_LIMIT,
  );

  private readonly probeLimits: { maxPerUser: number; maxPerClient: number };

  constructor(
    private readonly dataSource: DataSource,
    private readonly sql: Sql,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.probeLimits = {
      maxPerUser: config.otp.maxLinkProbesPerUserPerHour,
      maxPerClient: config.otp.maxLinkProbesPerClientPerHour,
    };
  }

  /**
   * link_probes_exhausted's arguments, for the use cases' transactions to pass through: whether
   * `user` is out of link probes now.
   */
  probeArgs(user: PartnerUserRef): Record<string, unknown> {
    return jsonArgs({
      clientId: user.clientId,
      userId: user.userId,
      now: this.clock.now(),
      ...this.probeLimits,
    });
  }

  /**
   * Counts that `user` was told a phone is linked to another user of its client (a link probe),
   * unless the user or the client has used up its hourly budget of them (link_count_probe).
   */
  async countProbe(user: PartnerUserRef): Promise<LinkProbeOutcome> {
    const row = await this.sql.call(COUNT_PROBE, {
      clientId: user.clientId,
      userId: user.userId,
      now: this.clock.now(),
      ...this.probeLimits,
    });
    return row.outcome === 'limited'
      ? { limited: true, retryAfter: row.retry_after }
      : { limited: false };
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
          [
            {
              event: 'unlinked',
              actor: by.actor,
              clientId,
              userId,
              target: phoneTarget(phone),
              ip: by.ip,
            },
          ],
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
    const row = await this.linkLoader.load({ clientId, userId });
    return row && toLinkedPhone(row);
  }

  private async loadLinks(keys: readonly PartnerUserRef[]): Promise<Array<LinkRow | undefined>> {
    const rows = await this.sql.rows<LinkRow & { i: number }>(LINKS_OF_USERS, [
      keys.map((key) => key.clientId),
      keys.map((key) => key.userId),
    ]);
    const byPosition = new Array<LinkRow | undefined>(keys.length).fill(undefined);
    for (const row of rows) byPosition[row.i - 1] = row;
    return byPosition;
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

/**
 * The linking rule a unique violation broke (from the driver, directly or through the ORM):
 * ACCOUNT_ALREADY_LINKED or PHONE_ALREADY_LINKED; undefined for any other error.
 */
export function linkConflict(error: unknown): ErrorCode | undefined {
  const driverError = (error instanceof QueryFailedError ? error.driverError : error) as {
    code?: string;
    constraint?: string;
  } | null;
  if (driverError?.code !== '23505' || !driverError.constraint) return undefined;
  return CONSTRAINT_ERRORS[driverError.constraint];
}
