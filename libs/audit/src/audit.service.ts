import { createHmac, hkdfSync } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  AuditContext,
  decodeCursor,
  maskTarget,
  Page,
  pageSize,
  phoneTarget,
  Target,
  toPage,
} from '@app/common';
import type { AuditActor, AuditEventName } from './audit-event.entity';

/** One thing that happened, in a context. The target is stored masked (and keyed-hashed). */
export interface AuditRecord extends AuditContext {
  event: AuditEventName;
  target?: Target;
  challengeId?: string;
  detail?: string;
  at?: Date;
}

/** A target as the trail keeps it: audit_record's p_target_masked and p_target_hash. */
export interface AuditedTarget {
  targetMasked: string;
  targetHash: Buffer;
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

/** One event as operators read it: the target only masked. */
export interface AuditEventView {
  id: string;
  event: AuditEventName;
  actor: AuditActor | null;
  clientId: string | null;
  userId: string | null;
  /** The target, masked (`+91******219`, `a***@example.com`). */
  target: string | null;
  /** The same, under the name it had when every target was a phone. */
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
  target_masked: string | null;
  ip: string | null;
  challenge_id: string | null;
  detail: string | null;
  created_at: Date;
  created_text: string;
}

/** The columns every audit write fills, in the order of AuditService.values(). */
export const AUDIT_COLUMNS =
  'event, actor, client_id, user_id, target_masked, target_hash, ip, challenge_id, detail, created_at';
/**
 * Their types, for statements whose values are not written straight into the table. Unsized
 * varchar: a cast to varchar(n) would cut a value where the column refuses it.
 */
export const AUDIT_COLUMN_TYPES = [
  ...['varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'bytea', 'varchar', 'uuid'],
  ...['varchar', 'timestamptz'],
];
export const AUDIT_COLUMN_COUNT = AUDIT_COLUMN_TYPES.length;

/** `$first::varchar, …, $first+9::timestamptz`: the typed placeholders of one row's AUDIT_COLUMNS. */
export function placeholders(first: number): string {
  return AUDIT_COLUMN_TYPES.map((type, i) => `$${first + i}::${type}`).join(', ');
}

/**
 * For a statement that writes the audit events of its own changes: the call of audit_record for
 * one row of `source`, whose columns carry AUDIT_COLUMNS' names (`event` one event's name).
 * Statements outside this lib write the trail through it and nothing else.
 */
export function auditRecordCall(source: string): string {
  const column = (name: string) => `${source}.${name}`;
  return `audit_record(p_events => ARRAY[${column('event')}]::varchar[],
    p_actor => ${column('actor')}, p_client_id => ${column('client_id')},
    p_user_id => ${column('user_id')}, p_target_masked => ${column('target_masked')},
    p_target_hash => ${column('target_hash')}, p_ip => ${column('ip')},
    p_challenge_id => ${column('challenge_id')}, p_detail => ${column('detail')},
    p_at => ${column('created_at')})`;
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
   * The keyed hash the trail stores beside the masked target: events can be found by phone (or
   * address), but the trail (kept for ever) never holds one in the clear. A phone's hash is its
   * E.164 number's, as it was before other targets existed.
   */
  targetHash(target: Target): Buffer {
    return createHmac('sha256', this.phoneKey).update(target.value).digest();
  }

  /** A target as audit_record takes it. */
  audited(target: Target): AuditedTarget {
    return { targetMasked: maskTarget(target), targetHash: this.targetHash(target) };
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
      record.target ? maskTarget(record.target) : null,
      record.target ? this.targetHash(record.target) : null,
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
      `SELECT id, event, actor, client_id, user_id, target_masked, ip, challenge_id, detail,
              created_at, created_at::text AS created_text
         FROM audit_events
        WHERE ($1::bytea IS NULL OR target_hash = $1)
          AND ($2::varchar IS NULL OR client_id = $2)
          AND ($3::varchar IS NULL OR user_id = $3)
          AND ($4::varchar IS NULL OR event = $4)
          AND ($5::timestamptz IS NULL OR created_at >= $5)
          AND ($6::timestamptz IS NULL OR created_at < $6)
          AND ($7::timestamptz IS NULL OR (created_at, id) < ($7::timestamptz, $8::bigint))
        ORDER BY created_at DESC, id DESC
        LIMIT $9`,
      [
        query.phoneE164 ? this.targetHash(phoneTarget(query.phoneE164)) : null,
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
    target: row.target_masked,
    phone: row.target_masked,
    ip: row.ip,
    challengeId: row.challenge_id,
    detail: row.detail,
    at: row.created_at.toISOString(),
  };
}
