import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig, OtpConfig } from '@app/config';
import { AppError, Clock, ErrorCode } from '@app/common';
import { Sql, statement } from '@app/database';
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

/** Where a request comes from, for the audit trail (the phone masked and keyed-hashed). */
export interface AuditContext {
  phoneMasked: string;
  phoneHash: Buffer;
  ip: string;
}

/** A code about to be sent, before its message is queued. */
export interface CodeDraft {
  challengeId: string;
  authCode: string;
  code: string;
  expiresAt: Date;
  /** A fresh code on an existing live challenge (its earlier messages are now worthless). */
  resent: boolean;
}

/** The outbox message of a code, ready to be written with it. */
export interface DraftMessage {
  channel: string;
  payload: Buffer;
  leaseUntil: Date;
  audit: object;
}

export interface IssueRequest {
  owner: ChallengeOwner;
  phoneE164: string;
  limits: ClientLimits;
  audit: AuditContext;
  /** The message for a code (called again if the code's challenge changes before it is kept). */
  messageFor(draft: CodeDraft): DraftMessage;
}

/** A code issued and queued: what the caller is told, and the message to deliver. */
export interface IssuedCode extends CodeDraft {
  messageId: string;
  expiresIn: number;
  resendAfter: number;
  attemptsLeft: number;
  /** A phone identity exists for the number already. */
  phoneKnown: boolean;
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

/** What verify reads in one go: the linking rules' view of the user, and the challenge. */
export interface VerifyState {
  accountLinked: boolean;
  /** The challenge that made the user's link, when linked. */
  linkChallengeId: string | null;
  /** The phone is linked to another user of the same client. */
  phoneLinked: boolean;
  challenge?: ChallengeView;
}

/** What counting a wrong code did. */
export type WrongCodeOutcome =
  | { counted: true; attemptsLeft: number }
  /** The challenge stopped being live meanwhile (locked, verified or expired), or was resent. */
  | { counted: false }
  /** The phone hit the failed-verify cap meanwhile. */
  | { counted: false; retryAfter: number };

const HOUR_MS = 3_600_000;
/**
 * Below (budget - margin) sends in the hour, concurrent registers cannot overshoot a shared
 * budget (the service's, a client's), so they skip its lock; closer to it they serialise on one
 * lock and count exactly. The margin must exceed the registers in flight across all instances
 * (their pool sizes).
 */
const BUDGET_LOCK_MARGIN = 200;
/** A new authCode collides with a live one of the user about never; this bounds the retries. */
const ISSUE_ROUNDS = 6;

/** The limits' names in the function's answers, as told to the caller. */
const LIMIT_SCOPES: Record<string, string> = {
  phone: 'phone',
  user: 'user',
  prefix: 'number range',
  client: 'app',
  service: 'service',
};

const REQUEST_CODE = statement(
  `SELECT * FROM otp_request_code($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                                  $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
);
const VERIFY_STATE = statement(`SELECT * FROM otp_verify_state($1, $2, $3, $4, $5)`);
const COUNT_WRONG_CODE = statement(
  `SELECT * FROM otp_count_wrong_code($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
);

interface RequestCodeRow {
  outcome:
    | 'issued'
    | 'live_changed'
    | 'auth_code_taken'
    | 'account_linked'
    | 'phone_linked'
    | 'too_soon'
    | 'limited';
  challenge_id: string | null;
  auth_code: string | null;
  attempts: number | null;
  retry_after: number | null;
  scope: string | null;
  sends: number | null;
  phone_known: boolean | null;
  message_id: string | null;
}

interface VerifyStateRow {
  account_linked: boolean;
  link_challenge_id: string | null;
  phone_linked: boolean;
  id: string | null;
  status: ChallengeStatus | null;
  attempts: number | null;
  expires_at: Date | null;
  code_hash: Buffer | null;
  result_phone_user_id: string | null;
  result_is_new_user: boolean | null;
  phone_failures: number;
  oldest_failure: Date | null;
}

/**
 * The challenge engine: issues codes within the lifetime, cooldown and send limits, and counts
 * attempts. The rules run in the database (functions of migration HotPathFunctions, one call per
 * operation), so they hold across instances and restarts; codes, their hashes and the messages
 * are made here.
 */
@Injectable()
export class ChallengeService {
  private readonly logger = new Logger(ChallengeService.name);
  private readonly otp: OtpConfig;
  private readonly hasher: CodeHasher;

  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
    private readonly codes: CodeGenerator,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.otp = config.otp;
    this.hasher = new CodeHasher(config.otp.secret);
  }

  /**
   * A fresh code on the live challenge of (owner, phone), or a new challenge, with its message
   * queued in the same transaction. Throws ACCOUNT_ALREADY_LINKED / PHONE_ALREADY_LINKED (spec
   * §4 comes first), then RESEND_TOO_SOON or RATE_LIMITED.
   */
  async issue(request: IssueRequest): Promise<IssuedCode> {
    const { owner, phoneE164, limits, audit } = request;
    const now = this.clock.now();
    const code = this.codes.code(this.otp.length);
    const expiresAt = new Date(now.getTime() + this.otp.ttlSeconds * 1000);
    // The challenge the code is for: a new one, unless the database names the live one.
    let draft: CodeDraft = {
      challengeId: randomUUID(),
      authCode: this.codes.authCode(),
      code,
      expiresAt,
      resent: false,
    };
    for (let round = 0; round < ISSUE_ROUNDS; round++) {
      const message = request.messageFor(draft);
      const row = (await this.sql.row<RequestCodeRow>(REQUEST_CODE, [
        owner.clientId,
        owner.userId,
        phoneE164,
        prefixOf(phoneE164),
        now,
        expiresAt,
        this.otp.resendCooldownSeconds,
        this.otp.maxSendsPerPhonePerHour,
        this.otp.maxSendsPerUserPerHour,
        this.otp.maxSendsPerPrefixPerHour,
        this.otp.maxSendsPerHour,
        limits.hourlySendBudget ?? null,
        BUDGET_LOCK_MARGIN,
        draft.challengeId,
        draft.resent ? draft.challengeId : null,
        draft.authCode,
        this.hasher.hash(draft.challengeId, code),
        message.channel,
        message.payload,
        message.leaseUntil,
        message.audit,
        audit.phoneMasked,
        audit.phoneHash,
        audit.ip,
      ])) as RequestCodeRow;
      switch (row.outcome) {
        case 'issued':
          return {
            ...draft,
            messageId: row.message_id as string,
            expiresIn: this.otp.ttlSeconds,
            resendAfter: this.otp.resendCooldownSeconds,
            attemptsLeft: this.otp.maxAttempts - (row.attempts ?? 0),
            phoneKnown: row.phone_known ?? false,
          };
        case 'live_changed':
          // Hash the code for the live challenge the database named (or a new one, if none).
          draft = row.challenge_id
            ? {
                ...draft,
                challengeId: row.challenge_id,
                authCode: row.auth_code as string,
                resent: true,
              }
            : {
                ...draft,
                challengeId: randomUUID(),
                authCode: this.codes.authCode(),
                resent: false,
              };
          break;
        case 'auth_code_taken':
          draft = { ...draft, authCode: this.codes.authCode() };
          break;
        case 'account_linked':
          throw new AppError(ErrorCode.AccountAlreadyLinked);
        case 'phone_linked':
          throw new AppError(ErrorCode.PhoneAlreadyLinked);
        case 'too_soon':
          throw new AppError(ErrorCode.ResendTooSoon, { retryAfter: row.retry_after as number });
        case 'limited':
          throw this.limited(row, owner);
      }
    }
    throw new Error('the challenge kept changing while a code was issued');
  }

  /** The user's link state and the newest challenge of (owner, phone) with that authCode. */
  async verifyState(
    owner: ChallengeOwner,
    phoneE164: string,
    authCode: string,
  ): Promise<VerifyState> {
    const now = this.clock.now();
    const row = (await this.sql.row<VerifyStateRow>(VERIFY_STATE, [
      owner.clientId,
      owner.userId,
      phoneE164,
      authCode,
      new Date(now.getTime() - HOUR_MS),
    ])) as VerifyStateRow;
    const state: VerifyState = {
      accountLinked: row.account_linked,
      linkChallengeId: row.link_challenge_id,
      phoneLinked: row.phone_linked,
    };
    if (row.id === null) return state;
    const expired = row.status === 'pending' && (row.expires_at as Date).getTime() <= now.getTime();
    state.challenge = {
      id: row.id,
      state: expired ? 'expired' : (row.status as ChallengeStatus),
      attemptsLeft: Math.max(0, this.otp.maxAttempts - (row.attempts ?? 0)),
      codeHash: Buffer.from(row.code_hash as Buffer),
      resultPhoneUserId: row.result_phone_user_id,
      resultIsNewUser: row.result_is_new_user,
      phoneRetryAfter:
        row.phone_failures >= this.otp.maxFailedVerifiesPerPhonePerHour
          ? secondsUntilWindowEnds(row.oldest_failure, now)
          : 0,
    };
    return state;
  }

  /** Whether `otp` (already normalised) is this challenge's current code; constant time. */
  codeMatches(challenge: ChallengeView, otp: string): boolean {
    return this.hasher.matches(challenge.codeHash, challenge.id, otp);
  }

  /**
   * Counts one wrong code, atomically, with its audit events: only while the challenge is live
   * and has attempts left (the last allowed attempt locks it), and only while the phone is under
   * its hourly cap of failed verifies across challenges, and only while its code is still the
   * one `otp` was compared with (a resend meanwhile: not counted, the caller reads again).
   */
  async recordWrongCode(
    owner: ChallengeOwner,
    phoneE164: string,
    challenge: ChallengeView,
    audit: AuditContext,
  ): Promise<WrongCodeOutcome> {
    const row = (await this.sql.row<{
      outcome: 'counted' | 'capped' | 'not_live';
      attempts_left: number | null;
      retry_after: number | null;
    }>(COUNT_WRONG_CODE, [
      challenge.id,
      owner.clientId,
      owner.userId,
      phoneE164,
      this.clock.now(),
      this.otp.maxAttempts,
      this.otp.maxFailedVerifiesPerPhonePerHour,
      audit.phoneMasked,
      audit.phoneHash,
      audit.ip,
      challenge.codeHash,
    ])) as { outcome: string; attempts_left: number | null; retry_after: number | null };
    if (row.outcome === 'counted')
      return { counted: true, attemptsLeft: row.attempts_left as number };
    if (row.outcome === 'capped') return { counted: false, retryAfter: row.retry_after as number };
    return { counted: false };
  }

  private limited(row: RequestCodeRow, owner: ChallengeOwner): AppError {
    const scope = LIMIT_SCOPES[row.scope as string] ?? 'service';
    const sends = row.sends;
    // Operators alert on these lines: a shared budget ran out, not one user's or phone's.
    if (row.scope === 'service') {
      this.logger.error(
        { alert: 'otp_global_send_budget_exhausted', sends, max: this.otp.maxSendsPerHour },
        'global OTP send budget exhausted',
      );
    } else if (row.scope === 'client') {
      this.logger.warn(
        { alert: 'otp_client_send_budget_exhausted', clientId: owner.clientId, sends },
        "a partner client's hourly send budget is exhausted",
      );
    }
    return new AppError(
      ErrorCode.RateLimited,
      { retryAfter: row.retry_after as number },
      `too many codes sent to this ${scope}; try again later`,
    );
  }
}

/** A number block: E.164 without its last digits (10 000 numbers). */
const PREFIX_HIDDEN_DIGITS = 4;

/** The number block of a phone, for the velocity limit. */
function prefixOf(phoneE164: string): string {
  return phoneE164.slice(0, -PREFIX_HIDDEN_DIGITS);
}

/** Seconds until the oldest event of an hour window leaves it (at least 1). */
function secondsUntilWindowEnds(oldest: Date | null, now: Date): number {
  const windowEnds = (oldest?.getTime() ?? now.getTime()) + HOUR_MS;
  return Math.max(1, Math.ceil((windowEnds - now.getTime()) / 1000));
}
