import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { maskPhone } from '@app/common';
import type { AuditEventName } from './audit-event.entity';

/** One thing that happened. The phone is given in E.164 and stored masked. */
export interface AuditRecord {
  event: AuditEventName;
  clientId?: string;
  userId?: string;
  phoneE164?: string;
  ip?: string;
  challengeId?: string;
  detail?: string;
  at?: Date;
}

const COLUMNS = 8;

/** Appends to the audit trail; never updates or deletes. */
@Injectable()
export class AuditService {
  constructor(private readonly dataSource: DataSource) {}

  /** Writes the records in one statement, inside `manager`'s transaction when given. */
  async record(records: AuditRecord[], manager?: EntityManager): Promise<void> {
    if (records.length === 0) return;
    const params: unknown[] = [];
    const rows = records.map((record, index) => {
      params.push(
        record.event,
        record.clientId ?? null,
        record.userId ?? null,
        record.phoneE164 ? maskPhone(record.phoneE164) : null,
        record.ip?.slice(0, 64) ?? null,
        record.challengeId ?? null,
        record.detail?.slice(0, 500) ?? null,
        record.at ?? new Date(),
      );
      const base = index * COLUMNS;
      return `(${Array.from({ length: COLUMNS }, (_, i) => `$${base + i + 1}`).join(', ')})`;
    });
    await (manager ?? this.dataSource).query(
      `INSERT INTO audit_events (event, client_id, user_id, phone_masked, ip, challenge_id, detail, created_at)
       VALUES ${rows.join(', ')}`,
      params,
    );
  }
}
