import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Clock } from '@app/common';
import { jsonArgs, Sql, sqlFunctionCall, statement } from '@app/database';
import type { SessionEndReason } from './entities/app-session.entity';
import {
  isOpaqueToken,
  newOpaqueToken,
  openSuccessor,
  sealSuccessor,
  tokenHash,
} from './session-secrets';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a sign-in hands to the app, once: the tokens are stored only as hashes. */
export interface StartedSession {
  sessionId: string;
  refreshToken: string;
  deviceToken: string;
}

/** session_start's argument, built here and passed through by a use case that composes it. */
export interface SessionStartDraft {
  args: Record<string, unknown>;
  refreshToken: string;
  deviceToken: string;
}

export interface RefreshRequest {
  /** The refresh token presented (`x-refresh-authorization`). */
  refreshToken: string;
  /** The device token presented (`x-device-token`). */
  deviceToken: string;
  /** The session named by the caller's access token (`sid`), when it has one. */
  sessionId?: string | null;
  /**
   * Kept sealed with the successor and answered again on a repeat in the grace window (the new
   * access token, so a double refresh answers the same pair).
   */
  attachment?: string;
}

export type RefreshFailure = 'unknown' | 'ended' | 'mismatch' | 'reused' | 'expired';

export type RefreshResult =
  | {
      outcome: 'rotated' | 'repeated';
      sessionId: string;
      clientId: string;
      phoneUserId: string;
      /** The new refresh token's generation in its family (the sign-in's is 1). */
      generation: number;
      refreshToken: string;
      attachment?: string;
    }
  | {
      outcome: RefreshFailure;
      /** The session, for 'reused' (which ended it). */
      sessionId?: string;
    };

/** One session as the access-token check reads it. */
export interface SessionState {
  sessionId: string;
  clientId: string;
  phoneUserId: string;
  createdAt: Date;
  /** Not ended and not past its newest refresh token's expiry. */
  active: boolean;
  endReason: SessionEndReason | null;
}

/** Which sessions to end: one (of a client), a phone identity's (of a client), or a client's. */
export interface SessionEndRequest {
  sessionId?: string;
  clientId?: string;
  phoneUserId?: string;
  reason: SessionEndReason;
}

interface RefreshRow {
  outcome: 'rotated' | 'repeated' | RefreshFailure;
  session_id: string | null;
  client_id: string | null;
  phone_user_id: string | null;
  generation: number | null;
  successor_sealed: Buffer | null;
}

interface Successor {
  r: string;
  a?: string;
}

const START = sqlFunctionCall<{ args: Record<string, unknown> }, { session_start: string }>(
  'session_start',
  { args: 'jsonb' },
);
const REFRESH = sqlFunctionCall<{ args: Record<string, unknown> }, RefreshRow>('session_refresh', {
  args: 'jsonb',
});
const END = sqlFunctionCall<{ args: Record<string, unknown> }, { session_end: number }>(
  'session_end',
  { args: 'jsonb' },
);
const STATE = statement(
  `SELECT id, client_id, phone_user_id, created_at, end_reason,
          (ended_at IS NULL AND expires_at > $2) AS active
     FROM app_sessions WHERE id = $1`,
);

/**
 * The sessions of apps signed in with a phone code, and their refresh-token families: start,
 * rotate (with reuse detection and a grace window for a concurrent double refresh), end, and
 * the state the access-token check reads. Every decision is one database function, exact
 * across instances.
 */
@Injectable()
export class SessionStore {
  constructor(
    private readonly sql: Sql,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  /** New tokens for a sign-in, and session_start's argument (for a use case's transaction). */
  startDraft(input: { clientId: string; phoneUserId: string; now?: Date }): SessionStartDraft {
    const refreshToken = newOpaqueToken();
    const deviceToken = newOpaqueToken();
    return {
      refreshToken,
      deviceToken,
      args: jsonArgs({
        clientId: input.clientId,
        phoneUserId: input.phoneUserId,
        deviceHash: tokenHash(deviceToken),
        refreshHash: tokenHash(refreshToken),
        now: input.now ?? this.clock.now(),
        refreshTtlSeconds: this.config.sessions.refreshTokenTtlSeconds,
      }),
    };
  }

  /** Starts a session on its own (a use case composes `startDraft` in its transaction instead). */
  async start(input: { clientId: string; phoneUserId: string }): Promise<StartedSession> {
    const draft = this.startDraft(input);
    const row = await this.sql.call(START, { args: draft.args });
    return {
      sessionId: row.session_start,
      refreshToken: draft.refreshToken,
      deviceToken: draft.deviceToken,
    };
  }

  /** Rotates a refresh token (see session_refresh.sql for each outcome). */
  async refresh(request: RefreshRequest): Promise<RefreshResult> {
    if (!isOpaqueToken(request.refreshToken)) return { outcome: 'unknown' };
    if (!isOpaqueToken(request.deviceToken)) return { outcome: 'mismatch' };
    if (request.sessionId != null && !UUID.test(request.sessionId)) {
      return { outcome: 'mismatch' };
    }
    const successor: Successor = { r: newOpaqueToken(), a: request.attachment };
    const row = await this.sql.call(REFRESH, {
      args: jsonArgs({
        tokenHash: tokenHash(request.refreshToken),
        sessionId: request.sessionId ?? null,
        deviceHash: tokenHash(request.deviceToken),
        newHash: tokenHash(successor.r),
        sealed: sealSuccessor(request.refreshToken, JSON.stringify(successor)),
        now: this.clock.now(),
        refreshTtlSeconds: this.config.sessions.refreshTokenTtlSeconds,
        graceSeconds: this.config.sessions.refreshReuseGraceSeconds,
      }),
    });
    if (row.outcome !== 'rotated' && row.outcome !== 'repeated') {
      return row.outcome === 'reused'
        ? { outcome: 'reused', sessionId: row.session_id ?? undefined }
        : { outcome: row.outcome };
    }
    const answered: Successor =
      row.outcome === 'rotated'
        ? successor
        : (JSON.parse(
            openSuccessor(request.refreshToken, Buffer.from(row.successor_sealed ?? [])),
          ) as Successor);
    return {
      outcome: row.outcome,
      sessionId: row.session_id as string,
      clientId: row.client_id as string,
      phoneUserId: row.phone_user_id as string,
      generation: row.generation as number,
      refreshToken: answered.r,
      ...(answered.a === undefined ? {} : { attachment: answered.a }),
    };
  }

  /** Ends sessions at once; how many ended (sessions already ended are not counted). */
  async end(request: SessionEndRequest): Promise<number> {
    for (const id of [request.sessionId, request.phoneUserId]) {
      if (id !== undefined && !UUID.test(id)) return 0;
    }
    const row = await this.sql.call(END, {
      args: jsonArgs({
        sessionId: request.sessionId ?? null,
        clientId: request.clientId ?? null,
        phoneUserId: request.phoneUserId ?? null,
        reason: request.reason,
        now: this.clock.now(),
      }),
    });
    return row.session_end;
  }

  /** The session an access token names, as of now; undefined when there is none. */
  async state(sessionId: string): Promise<SessionState | undefined> {
    if (!UUID.test(sessionId)) return undefined;
    const row = await this.sql.row<{
      id: string;
      client_id: string;
      phone_user_id: string;
      created_at: Date;
      end_reason: SessionEndReason | null;
      active: boolean;
    }>(STATE, [sessionId, this.clock.now()]);
    if (row === undefined) return undefined;
    return {
      sessionId: row.id,
      clientId: row.client_id,
      phoneUserId: row.phone_user_id,
      createdAt: row.created_at,
      active: row.active,
      endReason: row.end_reason,
    };
  }
}
