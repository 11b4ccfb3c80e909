import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock, decodeCursor, Page, pageSize, toPage } from '@app/common';
import type { SessionEndReason, SessionKind } from './entities/app-session.entity';

/**
 * A session as operators see it (never a token): an app's, or a website's (`web`, FLOWS.md),
 * which has no client in the `default` realm and no phone when signed in with an email address.
 */
export interface SessionView {
  id: string;
  kind: SessionKind;
  clientId: string | null;
  phoneUserId: string | null;
  phone: string | null;
  email: string | null;
  createdAt: string;
  refreshedAt: string;
  expiresAt: string;
  endedAt: string | null;
  endReason: SessionEndReason | null;
  active: boolean;
}

export interface SessionQuery {
  sessionId?: string;
  clientId?: string;
  /** E.164. */
  phone?: string;
  /** Only the sessions still usable. */
  active?: boolean;
  limit?: number;
  cursor?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Row {
  id: string;
  kind: SessionKind;
  client_id: string | null;
  phone_user_id: string | null;
  phone_e164: string | null;
  email: string | null;
  created_at: Date;
  refreshed_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  end_reason: SessionEndReason | null;
  active: boolean;
  created_text: string;
}

/** Operators' view of the sessions (apps' and websites'): by session, client or phone, newest first. */
@Injectable()
export class SessionDirectory {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async list(query: SessionQuery): Promise<Page<SessionView>> {
    if (query.sessionId !== undefined && !UUID.test(query.sessionId)) {
      return { items: [], nextCursor: null };
    }
    const limit = pageSize(query.limit);
    const [beforeCreated, beforeId] = query.cursor
      ? decodeCursor(query.cursor, ['timestamp', 'string'])
      : [null, null];
    const rows = await this.dataSource.query<Row[]>(
      `SELECT s.id, s.kind, s.client_id, s.phone_user_id, p.phone_e164, s.email, s.created_at,
              s.refreshed_at,
              s.expires_at, s.ended_at, s.end_reason,
              (s.ended_at IS NULL AND s.expires_at > $5) AS active,
              s.created_at::text AS created_text
         FROM app_sessions s LEFT JOIN phone_users p ON p.id = s.phone_user_id
        WHERE ($1::uuid IS NULL OR s.id = $1)
          AND ($2::varchar IS NULL OR s.client_id = $2)
          AND ($3::varchar IS NULL OR p.phone_e164 = $3)
          AND (NOT $4::boolean OR (s.ended_at IS NULL AND s.expires_at > $5))
          AND ($6::timestamptz IS NULL OR (s.created_at, s.id) < ($6::timestamptz, $7::uuid))
        ORDER BY s.created_at DESC, s.id DESC
        LIMIT $8`,
      [
        query.sessionId ?? null,
        query.clientId ?? null,
        query.phone ?? null,
        query.active === true,
        this.clock.now(),
        beforeCreated,
        beforeId,
        limit + 1,
      ],
    );
    return toPage(rows, limit, toView, (row) => [row.created_text, row.id]);
  }

  /** The phone identity of a number, when there is one. */
  async phoneUserOf(phone: string): Promise<string | undefined> {
    const rows = await this.dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM phone_users WHERE phone_e164 = $1`,
      [phone],
    );
    return rows[0]?.id;
  }
}

function toView(row: Row): SessionView {
  return {
    id: row.id,
    kind: row.kind,
    clientId: row.client_id,
    phoneUserId: row.phone_user_id,
    phone: row.phone_e164,
    email: row.email,
    createdAt: row.created_at.toISOString(),
    refreshedAt: row.refreshed_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    endedAt: row.ended_at ? row.ended_at.toISOString() : null,
    endReason: row.end_reason,
    active: row.active,
  };
}
