import { createHmac, hkdfSync } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { decodeCursor, maskPhone, Page, pageSize, toPage } from '@app/common';
import type { AuditActor, AuditEventName } from './audit-event.entity';

/** One thing that happened. The phone is given in E.164 and stored masked (and keyed-hashed). */
export interface AuditRecord {
  event: AuditEventName;
  /** Who did it, when not the partner's user in the flow itself. */
  actor?: AuditActor;
  clientId?: string;
  userId?: string;
  phoneE164?: string;
  ip?: string;
  challengeId?: string;
  detail?: string;
  at?: Date;
}

/** What operators filter the trail by (all optional, combined with AND). */
export interface AuditQuery {
  phoneE164?: string;
  clientId?: string;
  userId?: string;
  event?: AuditEventName;
  since?: Date;
  until?: Date;
  limit?: number;
  cursor?: string;
}

/** One event as operators read it: the phone only masked. */
export interface AuditEventView {
  id: string;
  event: AuditEventName;
  actor: AuditActor | null;
  clientId: string | null;
  userId: string | null;
  phone: string | null;
  ip: string | null;
  challengeId: string | null;
  detail: string | null;
  at: string;
}

interface AuditRow {
  id: string;
  event: AuditEventName;
  actor: AuditActor | null;
  client_id: string | null;
  user_id: string | null;
  phone_masked: string | null;
  ip: string | null;
  challenge_id: string | null;
  detail: string | null;
  created_at: Date;
  created_text: string;
}

/** The columns every audit write fills, in the order of AuditService.values(). */
export const AUDIT_COLUMNS =
  'event, actor, client_id, user_id, phone_masked, phone_hash, ip, challenge_id, detail, created_at';
export const AUDIT_COLUMN_COUNT = 10;

/** `$first, …, $first+9`: the placeholders of one row's AUDIT_COLUMNS. */
export function placeholders(first: number): string {
  return Array.from({ length: AUDIT_COLUMN_COUNT }, (_, i) => `$${first + i}`).join(', ');
}

/** Appends to the audit trail (never updates or deletes) and lets operators search it. */
@Injectable()
export class AuditService {
  private readonly phoneKey: Buffer;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.phoneKey = Buffer.from(
      hkdfSync('sha256', config.otp.secret, 'otp-link', 'audit-phone-v1', 32),
    );
  }

  /**
   * The keyed hash the trail stores beside the masked phone: events can be found by phone, but
   * the trail (kept for ever) never holds a number in the clear.
   */
  phoneHash(phoneE164: string): Buffer {
    return createHmac('sha256', this.phoneKey).update(phoneE164).digest();
  }

  /** Writes the records in one statement, inside `manager`'s transaction when given. */
  async record(records: AuditRecord[], manager?: EntityManager): Promise<void> {
    if (records.length === 0) return;
    const params = records.flatMap((record) => this.values(record));
    const rows = records.map((_, index) => `(${placeholders(index * AUDIT_COLUMN_COUNT + 1)})`);
    await (manager ?? this.dataSource).query(
      `INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES ${rows.join(', ')}`,
      params,
    );
  }

  /**
   * One record as the values of AUDIT_COLUMNS, for a statement that writes its audit event
   * itself (`INSERT INTO audit_events (AUDIT_COLUMNS) SELECT $n… FROM changed`), so the change
   * and its event are one round trip.
   */
  values(record: AuditRecord): unknown[] {
    return [
      record.event,
      record.actor ?? null,
      record.clientId ?? null,
      record.userId ?? null,
      record.phoneE164 ? maskPhone(record.phoneE164) : null,
      record.phoneE164 ? this.phoneHash(record.phoneE164) : null,
      record.ip?.slice(0, 64) ?? null,
      record.challengeId ?? null,
      record.detail?.slice(0, 500) ?? null,
      record.at ?? new Date(),
    ];
  }

  /** Events matching every given filter, newest first, a page at a time. */
  async search(query: AuditQuery): Promise<Page<AuditEventView>> {
    const limit = pageSize(query.limit);
    const [beforeAt, beforeId] = query.cursor
      ? decodeCursor(query.cursor, ['timestamp', 'integer'])
      : [null, null];
    const rows = await this.dataSource.query<AuditRow[]>(
      `SELECT id, event, actor, client_id, user_id, phone_masked, ip, challenge_id, detail,
              created_at, created_at::text AS created_text
         FROM audit_events
        WHERE ($1::bytea IS NULL OR phone_hash = $1)
          AND ($2::varchar IS NULL OR client_id = $2)
          AND ($3::varchar IS NULL OR user_id = $3)
          AND ($4::varchar IS NULL OR event = $4)
          AND ($5::timestamptz IS NULL OR created_at >= $5)
          AND ($6::timestamptz IS NULL OR created_at < $6)
          AND ($7::timestamptz IS NULL OR (created_at, id) < ($7::timestamptz, $8::bigint))
        ORDER BY created_at DESC, id DESC
        LIMIT $9`,
      [
        query.phoneE164 ? this.phoneHash(query.phoneE164) : null,
        query.clientId ?? null,
        query.userId ?? null,
        query.event ?? null,
        query.since ?? null,
        query.until ?? null,
        beforeAt,
        beforeId,
        limit + 1,
      ],
    );
    return toPage(rows, limit, toView, (row) => [row.created_text, row.id]);
  }
}

function toView(row: AuditRow): AuditEventView {
  return {
    id: row.id,
    event: row.event,
    actor: row.actor,
    clientId: row.client_id,
    userId: row.user_id,
    phone: row.phone_masked,
    ip: row.ip,
    challengeId: row.challenge_id,
    detail: row.detail,
    at: row.created_at.toISOString(),
  };
}
