import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig, OtpConfig } from '@app/config';
import { AppError, Clock, ErrorCode } from '@app/common';
import { CodeGenerator } from './code-generator';
import { CodeHasher } from './code-hasher';
import type { ChallengeStatus } from './entities/otp-challenge.entity';

/** The partner user a challenge belongs to. */
export interface ChallengeOwner {
  clientId: string;
  userId: string;
}

/** Limits of the partner client, beyond the service-wide ones. */
export interface ClientLimits {
  /** Codes per hour for all the client's users together. */
  hourlySendBudget?: number | null;
}

/** A code ready to send, and what the caller is told about it. */
export interface IssuedCode {
  challengeId: string;
  authCode: string;
  code: string;
  expiresAt: Date;
  expiresIn: number;
  resendAfter: number;
  attemptsLeft: number;
  /** A fresh code on an existing live challenge (its earlier messages are now worthless). */
  resent: boolean;
}

/** One send: who, to which phone, when (counted by the hourly limits). */
interface SendRecord extends ChallengeOwner {
  phoneE164: string;
  now: Date;
}

/** A challenge as verify sees it; `expired` is derived from the clock. */
export interface ChallengeView {
  id: string;
  state: ChallengeStatus | 'expired';
  attemptsLeft: number;
  codeHash: Buffer;
  resultPhoneUserId: string | null;
  resultIsNewUser: boolean | null;
  /** Seconds until the phone may try codes again, when it hit the failed-verify cap; else 0. */
  phoneRetryAfter: number;
}

/** What counting a wrong code did. */
export type WrongCodeOutcome =
  | { counted: true; attemptsLeft: number }
  /** The challenge stopped being live meanwhile (locked, verified or expired). */
  | { counted: false }
  /** The phone hit the failed-verify cap meanwhile. */
  | { counted: false; retryAfter: number };

interface IssueState {
  phone_sends: number;
  phone_oldest: Date | null;
  user_sends: number;
  user_oldest: Date | null;
  global_sends: number;
  global_oldest: Date | null;
  prefix_sends: number;
  prefix_oldest: Date | null;
  client_sends: number;
  client_oldest: Date | null;
  live_id: string | null;
  live_auth_code: string | null;
  live_last_sent_at: Date | null;
  live_attempts: number | null;
}

const HOUR_MS = 3_600_000;
/** Advisory-lock namespaces: one phone, one partner user. */
const LOCK_PHONE = 1;
const LOCK_USER = 2;
const LOCK_GLOBAL_BUDGET = 3;
const LOCK_CLIENT_BUDGET = 4;
/**
 * Below (budget - margin) sends in the hour, concurrent registers cannot overshoot a shared
 * budget (the service's, a client's), so they skip its lock; closer to it they serialise on one
 * lock and count exactly. The margin must exceed the registers in flight across all instances
 * (their pool sizes).
 */
const BUDGET_LOCK_MARGIN = 200;
/** A number block: E.164 without its last digits (10 000 numbers). */
const PREFIX_HIDDEN_DIGITS = 4;
const AUTH_CODE_TRIES = 5;

/**
 * The challenge engine: issues codes within the lifetime, cooldown and send limits, and counts
 * attempts. Every rule is enforced by the database, so it holds across instances and restarts.
 */
@Injectable()
export class ChallengeService {
  private readonly logger = new Logger(ChallengeService.name);
  private readonly otp: OtpConfig;
  private readonly hasher: CodeHasher;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly codes: CodeGenerator,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.otp = config.otp;
    this.hasher = new CodeHasher(config.otp.secret);
  }

  /**
   * Serialises code requests for one phone and one user until the transaction ends, so the
   * counts read next are exact. Phone before user everywhere: no deadlock.
   */
  async lock(manager: EntityManager, owner: ChallengeOwner, phoneE164: string): Promise<void> {
    await manager.query(
      `SELECT pg_advisory_xact_lock(${LOCK_PHONE}, hashtext($1)),
              pg_advisory_xact_lock(${LOCK_USER}, hashtext($2))`,
      [phoneE164, `${owner.clientId}___${owner.userId}`],
    );
  }

  /**
   * Sends a fresh code on the live challenge of (owner, phone), or starts a new one. Call inside
   * a transaction after `lock`. Throws RESEND_TOO_SOON or RATE_LIMITED.
   */
  async issue(
    manager: EntityManager,
    owner: ChallengeOwner,
    phoneE164: string,
    clientLimits: ClientLimits = {},
  ): Promise<IssuedCode> {
    const now = this.clock.now();
    const clientBudget = clientLimits.hourlySendBudget ?? null;
    const state = await this.readIssueState(manager, owner, phoneE164, now, clientBudget);
    if (clientBudget !== null && state.client_sends >= clientBudget - BUDGET_LOCK_MARGIN) {
      const exact = await this.recountUnderLock(manager, now, clientBudget, owner.clientId);
      state.client_sends = exact.sends;
      state.client_oldest = exact.oldest;
    }
    if (state.global_sends >= this.otp.maxSendsPerHour - BUDGET_LOCK_MARGIN) {
      const exact = await this.recountUnderLock(manager, now, this.otp.maxSendsPerHour);
      state.global_sends = exact.sends;
      state.global_oldest = exact.oldest;
    }

    if (state.live_id && state.live_last_sent_at) {
      const elapsed = (now.getTime() - state.live_last_sent_at.getTime()) / 1000;
      if (elapsed < this.otp.resendCooldownSeconds) {
        const retryAfter = Math.max(1, Math.ceil(this.otp.resendCooldownSeconds - elapsed));
        throw new AppError(ErrorCode.ResendTooSoon, { retryAfter });
      }
    }
    this.checkSendLimits(state, now, owner, clientBudget);

    const code = this.codes.code(this.otp.length);
    const expiresAt = new Date(now.getTime() + this.otp.ttlSeconds * 1000);
    const send = { ...owner, phoneE164, now };
    const issued = state.live_id
      ? {
          challengeId: await this.resendOn(manager, state.live_id, code, expiresAt, send),
          authCode: state.live_auth_code as string,
          attempts: state.live_attempts ?? 0,
        }
      : { ...(await this.start(manager, code, expiresAt, send)), attempts: 0 };

    return {
      challengeId: issued.challengeId,
      authCode: issued.authCode,
      code,
      expiresAt,
      expiresIn: this.otp.ttlSeconds,
      resendAfter: this.otp.resendCooldownSeconds,
      attemptsLeft: this.otp.maxAttempts - issued.attempts,
      resent: state.live_id !== null,
    };
  }

  /** The newest challenge of (owner, phone) with that authCode, or undefined. */
  async find(
    owner: ChallengeOwner,
    phoneE164: string,
    authCode: string,
  ): Promise<ChallengeView | undefined> {
    const now = this.clock.now();
    const rows = await this.dataSource.query<
      Array<{
        id: string;
        status: ChallengeStatus;
        attempts: number;
        expires_at: Date;
        code_hash: Buffer;
        result_phone_user_id: string | null;
        result_is_new_user: boolean | null;
        phone_failures: number;
        oldest_failure: Date | null;
      }>
    >(
      `SELECT c.id, c.status, c.attempts, c.expires_at, c.code_hash,
              c.result_phone_user_id, c.result_is_new_user, f.phone_failures, f.oldest_failure
         FROM otp_challenges c,
              (SELECT count(*)::int AS phone_failures, min(failed_at) AS oldest_failure
                 FROM otp_verify_failures WHERE phone_e164 = $3 AND failed_at > $5) f
        WHERE c.client_id = $1 AND c.user_id = $2 AND c.phone_e164 = $3 AND c.auth_code = $4
        ORDER BY c.created_at DESC
        LIMIT 1`,
      [owner.clientId, owner.userId, phoneE164, authCode, new Date(now.getTime() - HOUR_MS)],
    );
    const row = rows[0];
    if (!row) return undefined;
    const expired = row.status === 'pending' && row.expires_at.getTime() <= now.getTime();
    return {
      id: row.id,
      state: expired ? 'expired' : row.status,
      attemptsLeft: Math.max(0, this.otp.maxAttempts - row.attempts),
      codeHash: Buffer.from(row.code_hash),
      resultPhoneUserId: row.result_phone_user_id,
      resultIsNewUser: row.result_is_new_user,
      phoneRetryAfter:
        row.phone_failures >= this.otp.maxFailedVerifiesPerPhonePerHour
          ? secondsUntilWindowEnds(row.oldest_failure, now)
          : 0,
    };
  }

  /** Whether `otp` (already normalised) is this challenge's current code; constant time. */
  codeMatches(challenge: ChallengeView, otp: string): boolean {
    return this.hasher.matches(challenge.codeHash, challenge.id, otp);
  }

  /**
   * Counts one wrong code, atomically: only while the challenge is live and has attempts left
   * (the last allowed attempt locks it), and only while the phone is under its hourly cap of
   * failed verifies across challenges (the phone's lock makes that count exact).
   */
  async recordWrongCode(phoneE164: string, challengeId: string): Promise<WrongCodeOutcome> {
    const now = this.clock.now();
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(${LOCK_PHONE}, hashtext($1))`, [phoneE164]);
      const [failures] = await manager.query<Array<{ n: number; oldest: Date | null }>>(
        `SELECT count(*)::int AS n, min(failed_at) AS oldest FROM otp_verify_failures
          WHERE phone_e164 = $1 AND failed_at > $2`,
        [phoneE164, new Date(now.getTime() - HOUR_MS)],
      );
      if (failures.n >= this.otp.maxFailedVerifiesPerPhonePerHour) {
        return { counted: false, retryAfter: secondsUntilWindowEnds(failures.oldest, now) };
      }
      const [rows] = await manager.query<[Array<{ attempts: number }>, number]>(
        `UPDATE otp_challenges
            SET attempts = attempts + 1,
                status = CASE WHEN attempts + 1 >= $2 THEN 'locked' ELSE status END
          WHERE id = $1 AND status = 'pending' AND attempts < $2 AND expires_at > $3
          RETURNING attempts`,
        [challengeId, this.otp.maxAttempts, now],
      );
      if (!rows[0]) return { counted: false };
      await manager.query(
        `INSERT INTO otp_verify_failures (phone_e164, challenge_id, failed_at) VALUES ($1, $2, $3)`,
        [phoneE164, challengeId, now],
      );
      return { counted: true, attemptsLeft: this.otp.maxAttempts - rows[0].attempts };
    });
  }

  /** Marks a live challenge verified, in `manager`'s transaction. False if it no longer was live. */
  async markVerified(manager: EntityManager, challengeId: string): Promise<boolean> {
    const now = this.clock.now();
    const [rows] = await manager.query<[Array<{ id: string }>, number]>(
      `UPDATE otp_challenges SET status = 'verified', verified_at = $3
        WHERE id = $1 AND status = 'pending' AND attempts < $2 AND expires_at > $3
        RETURNING id`,
      [challengeId, this.otp.maxAttempts, now],
    );
    return rows.length === 1;
  }

  /** Keeps the verify answer with the challenge, so a repeated verify gets it unchanged. */
  async saveResult(
    manager: EntityManager,
    challengeId: string,
    phoneUserId: string,
    isNewUser: boolean,
  ): Promise<void> {
    await manager.query(
      `UPDATE otp_challenges SET result_phone_user_id = $2, result_is_new_user = $3 WHERE id = $1`,
      [challengeId, phoneUserId, isNewUser],
    );
  }

  private async readIssueState(
    manager: EntityManager,
    owner: ChallengeOwner,
    phoneE164: string,
    now: Date,
    clientBudget: number | null,
  ): Promise<IssueState> {
    const windowStart = new Date(now.getTime() - HOUR_MS);
    const rows = await manager.query<IssueState[]>(
      `SELECT p.phone_sends, p.phone_oldest, u.user_sends, u.user_oldest,
              g.global_sends, g.global_oldest, x.prefix_sends, x.prefix_oldest,
              cb.client_sends, cb.client_oldest,
              live.id AS live_id, live.auth_code AS live_auth_code,
              live.last_sent_at AS live_last_sent_at, live.attempts AS live_attempts
         FROM (SELECT count(*)::int AS phone_sends, min(sent_at) AS phone_oldest
                 FROM (${windowOf('phone_e164 = $3', '$7')}) w) p,
              (SELECT count(*)::int AS user_sends, min(sent_at) AS user_oldest
                 FROM (${windowOf('client_id = $1 AND user_id = $2', '$8')}) w) u,
              (SELECT count(*)::int AS global_sends, min(sent_at) AS global_oldest
                 FROM (${windowOf('true', '$9')}) w) g,
              (SELECT count(*)::int AS prefix_sends, min(sent_at) AS prefix_oldest
                 FROM (${windowOf('phone_prefix = $6', '$10')}) w) x,
              -- Only for a client with a budget of its own.
              (SELECT count(*)::int AS client_sends, min(sent_at) AS client_oldest
                 FROM (${windowOf('$11::int IS NOT NULL AND client_id = $1', '$11')}) w) cb
         LEFT JOIN LATERAL (
               SELECT id, auth_code, last_sent_at, attempts FROM otp_challenges
                WHERE client_id = $1 AND user_id = $2 AND phone_e164 = $3
                  AND status = 'pending' AND expires_at > $5
                ORDER BY created_at DESC LIMIT 1) live ON true`,
      [
        owner.clientId,
        owner.userId,
        phoneE164,
        windowStart,
        now,
        prefixOf(phoneE164),
        this.otp.maxSendsPerPhonePerHour,
        this.otp.maxSendsPerUserPerHour,
        this.otp.maxSendsPerHour,
        this.otp.maxSendsPerPrefixPerHour,
        clientBudget,
      ],
    );
    return rows[0];
  }

  /**
   * Serialises registers on one shared budget (the client's when `clientId` is given, else the
   * service's) and recounts it exactly under that lock.
   */
  private async recountUnderLock(
    manager: EntityManager,
    now: Date,
    budget: number,
    clientId?: string,
  ): Promise<{ sends: number; oldest: Date | null }> {
    const scope = clientId === undefined ? 'true' : 'client_id = $3';
    await manager.query(
      clientId === undefined
        ? `SELECT pg_advisory_xact_lock(${LOCK_GLOBAL_BUDGET}, 0)`
        : `SELECT pg_advisory_xact_lock(${LOCK_CLIENT_BUDGET}, hashtext($1))`,
      clientId === undefined ? [] : [clientId],
    );
    const [row] = await manager.query<Array<{ sends: number; oldest: Date | null }>>(
      `SELECT count(*)::int AS sends, min(sent_at) AS oldest
         FROM (${windowOf(scope, '$2', '$1')}) w`,
      [new Date(now.getTime() - HOUR_MS), budget, ...(clientId === undefined ? [] : [clientId])],
    );
    return row;
  }

  private checkSendLimits(
    state: IssueState,
    now: Date,
    owner: ChallengeOwner,
    clientBudget: number | null,
  ): void {
    type Limit = [sends: number, oldest: Date | null, max: number, scope: string];
    const limits: Limit[] = [
      [state.phone_sends, state.phone_oldest, this.otp.maxSendsPerPhonePerHour, 'phone'],
      [state.user_sends, state.user_oldest, this.otp.maxSendsPerUserPerHour, 'user'],
      [state.prefix_sends, state.prefix_oldest, this.otp.maxSendsPerPrefixPerHour, 'number range'],
      [state.client_sends, state.client_oldest, clientBudget ?? Infinity, 'app'],
      [state.global_sends, state.global_oldest, this.otp.maxSendsPerHour, 'service'],
    ];
    for (const [sends, oldest, max, scope] of limits) {
      if (sends < max) continue;
      const retryAfter = secondsUntilWindowEnds(oldest, now);
      // Operators alert on these lines: a shared budget ran out, not one user's or phone's.
      if (scope === 'service') {
        this.logger.error(
          { alert: 'otp_global_send_budget_exhausted', sends, max },
          'global OTP send budget exhausted',
        );
      } else if (scope === 'app') {
        this.logger.warn(
          { alert: 'otp_client_send_budget_exhausted', clientId: owner.clientId, sends, max },
          "a partner client's hourly send budget is exhausted",
        );
      }
      throw new AppError(
        ErrorCode.RateLimited,
        { retryAfter },
        `too many codes sent to this ${scope}; try again later`,
      );
    }
  }

  /** New code on the live challenge, and its send record, in one statement. */
  private async resendOn(
    manager: EntityManager,
    challengeId: string,
    code: string,
    expiresAt: Date,
    send: SendRecord,
  ): Promise<string> {
    await manager.query(
      `WITH c AS (
         UPDATE otp_challenges
            SET code_hash = $2, last_sent_at = $3, expires_at = $4, send_count = send_count + 1
          WHERE id = $1
          RETURNING id)
       INSERT INTO otp_sends (challenge_id, client_id, user_id, phone_e164, phone_prefix, sent_at)
       SELECT c.id, $5, $6, $7, $8, $3 FROM c`,
      [
        challengeId,
        this.hasher.hash(challengeId, code),
        send.now,
        expiresAt,
        send.clientId,
        send.userId,
        send.phoneE164,
        prefixOf(send.phoneE164),
      ],
    );
    return challengeId;
  }

  /**
   * Inserts a new challenge whose authCode no live challenge of the owner uses, with its send
   * record, in one statement.
   */
  private async start(
    manager: EntityManager,
    code: string,
    expiresAt: Date,
    send: SendRecord,
  ): Promise<{ challengeId: string; authCode: string }> {
    for (let attempt = 0; attempt < AUTH_CODE_TRIES; attempt++) {
      const challengeId = randomUUID();
      const authCode = this.codes.authCode();
      const rows = await manager.query<Array<{ challenge_id: string }>>(
        `WITH c AS (
           INSERT INTO otp_challenges
             (id, client_id, user_id, phone_e164, auth_code, code_hash, last_sent_at, expires_at, created_at)
           SELECT $1::uuid, $2::varchar, $3::varchar, $4::varchar, $5::varchar, $6::bytea,
                  $7::timestamptz, $8::timestamptz, $7::timestamptz
            WHERE NOT EXISTS (SELECT 1 FROM otp_challenges
                               WHERE client_id = $2 AND user_id = $3 AND auth_code = $5
                                 AND status = 'pending' AND expires_at > $7)
           RETURNING id)
         INSERT INTO otp_sends (challenge_id, client_id, user_id, phone_e164, phone_prefix, sent_at)
         SELECT c.id, $2, $3, $4, $9, $7 FROM c
         RETURNING challenge_id`,
        [
          challengeId,
          send.clientId,
          send.userId,
          send.phoneE164,
          authCode,
          this.hasher.hash(challengeId, code),
          send.now,
          expiresAt,
          prefixOf(send.phoneE164),
        ],
      );
      if (rows.length === 1) return { challengeId, authCode };
    }
    throw new Error('could not find a free authCode');
  }
}

/**
 * The sends of one scope inside the hour window, oldest first, at most `limit` of them: a limit
 * only needs to know whether it is reached (and the oldest send, for Retry-After), so the count
 * stops at the limit instead of scanning every send of a busy hour.
 */
function windowOf(scope: string, limit: string, windowStart = '$4'): string {
  return `SELECT sent_at FROM otp_sends WHERE ${scope} AND sent_at > ${windowStart}
           ORDER BY sent_at LIMIT ${limit}`;
}

/** The number block of a phone, for the velocity limit. */
function prefixOf(phoneE164: string): string {
  return phoneE164.slice(0, -PREFIX_HIDDEN_DIGITS);
}

/** Seconds until the oldest event of an hour window leaves it (at least 1). */
function secondsUntilWindowEnds(oldest: Date | null, now: Date): number {
  const windowEnds = (oldest?.getTime() ?? now.getTime()) + HOUR_MS;
  return Math.max(1, Math.ceil((windowEnds - now.getTime()) / 1000));
}
