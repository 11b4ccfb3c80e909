import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Clock } from '@app/common';
import { jsonArgs, Sql, statement } from '@app/database';
import { isOpaqueToken, newOpaqueToken, tokenHash } from './session-secrets';

/** session_start_web's argument and the session id it is for (the cookie's value). */
export interface WebSessionDraft {
  /** 256 random bits, base64url: handed to the browser once, stored only as its hash. */
  sessionId: string;
  args: Record<string, unknown>;
  expiresAt: Date;
}

/** A live web session as its holder may read it. */
export interface WebSessionView {
  /** The session's row (what operators list and end). */
  rowId: string;
  /** Its realm's partner client; null for the service's own realm. */
  clientId: string | null;
  phoneUserId: string | null;
  phoneE164: string | null;
  email: string | null;
  createdAt: Date;
  expiresAt: Date;
}

const FIND = statement(
  `SELECT s.id, s.client_id, s.phone_user_id, p.phone_e164, s.email, s.created_at, s.expires_at
     FROM app_sessions s LEFT JOIN phone_users p ON p.id = s.phone_user_id
    WHERE s.token_hash = $1 AND s.kind = 'web' AND s.ended_at IS NULL AND s.expires_at > $2`,
);
const END = statement(
  `UPDATE app_sessions SET ended_at = $2, end_reason = 'logout'
    WHERE token_hash = $1 AND kind = 'web' AND ended_at IS NULL AND expires_at > $2`,
);

/**
 * The websites' sessions (FLOWS.md) in the one session store (`app_sessions`, kind 'web'): the
 * CLI, `/admin` and the retention job see them beside the apps'. A session id is an opaque
 * 256-bit token kept in a cookie; the database holds its SHA-256 only, and each sign-in makes a
 * new one (a caller can never choose it: no fixation).
 */
@Injectable()
export class WebSessions {
  constructor(
    private readonly sql: Sql,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** A new session id and session_start_web's argument (the use case's transaction runs it). */
  startDraft(input: {
    clientId: string | null;
    phoneUserId?: string | null;
    email?: string | null;
    now?: Date;
  }): WebSessionDraft {
    const sessionId = newOpaqueToken();
    const now = input.now ?? this.clock.now();
    const ttl = this.config.sessions.sessionTtlSeconds;
    return {
      sessionId,
      expiresAt: new Date(now.getTime() + ttl * 1000),
      args: jsonArgs({
        clientId: input.clientId,
        phoneUserId: input.phoneUserId ?? null,
        email: input.email ?? null,
        tokenHash: tokenHash(sessionId),
        now,
        ttlSeconds: ttl,
      }),
    };
  }

  /** The live session a presented id names; undefined for anything else. */
  async find(sessionId: unknown): Promise<WebSessionView | undefined> {
    if (!isOpaqueToken(sessionId)) return undefined;
    const row = await this.sql.row<{
      id: string;
      client_id: string | null;
      phone_user_id: string | null;
      phone_e164: string | null;
      email: string | null;
      created_at: Date;
      expires_at: Date;
    }>(FIND, [tokenHash(sessionId), this.clock.now()]);
    if (row === undefined) return undefined;
    return {
      rowId: row.id,
      clientId: row.client_id,
      phoneUserId: row.phone_user_id,
      phoneE164: row.phone_e164,
      email: row.email,
      createdAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
    };
  }

  /** Ends the live session a presented id names (a logout); whether one ended. */
  async end(sessionId: unknown): Promise<boolean> {
    if (!isOpaqueToken(sessionId)) return false;
    return (await this.sql.run(END, [tokenHash(sessionId), this.clock.now()])) > 0;
  }
}
