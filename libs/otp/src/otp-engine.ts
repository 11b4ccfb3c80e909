import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig, OtpConfig } from '@app/config';
import {
  AppError,
  Channel,
  Clock,
  ErrorCode,
  PartnerUserRef,
  phoneRegion,
  Target,
  TargetKind,
} from '@app/common';
import type { ArgumentTypes } from '@app/database';
import { CodeGenerator } from './code-generator';
import { CodeHasher } from './code-hasher';

/** Limits of the partner client, beyond the service-wide ones. */
export interface ClientLimits {
  /** Codes per hour for all the client's users together. */
  hourlySendBudget?: number | null;
}

/** The rules' settings, as a frontend renders them. */
export interface OtpPolicy {
  codeLength: number;
  ttlSeconds: number;
  resendCooldownSeconds: number;
  maxAttempts: number;
}

/**
 * A code about to be committed: made here, hashed for one challenge. The caller builds its
 * message from it and commits both in one transaction (otp_issue, composed by the use case);
 * `afterIssue` says whether it was kept or which draft to commit instead.
 */
export interface CodeDraft {
  challengeId: string;
  /** The live challenge the code is for (a resend), or null for a new challenge. */
  liveId: string | null;
  authCode: string;
  code: string;
  codeHash: Buffer;
  now: Date;
  expiresAt: Date;
}

/** What a code is for: whose, to which target, on which channel, within which limits. */
export interface IssueRequest {
  owner: PartnerUserRef;
  target: Target;
  channel: Channel;
  limits: ClientLimits;
  /** The channels the code falls back to, in order (NOTIFY_FALLBACK). */
  fallbacks?: Channel[];
}

/** otp_issue's arguments (its one jsonb argument, read back with these names). */
export interface OtpIssueArgs {
  clientId: string;
  userId: string;
  target: string;
  targetKind: TargetKind;
  block: string | null;
  channel: Channel;
  now: Date;
  expiresAt: Date;
  challengeId: string;
  liveId: string | null;
  authCode: string;
  codeHash: Buffer;
  cooldownSeconds: number;
  maxAttempts: number;
  maxPerTarget: number;
  /** Voice calls per target and hour (a voice send, and a call written as a fallback). */
  maxCallsPerTarget: number;
  /** The code's fallback chain holds a call: otp_issue says whether the cap leaves room. */
  callFallback: boolean;
  maxPerOwner: number;
  maxPerBlock: number;
  maxPerService: number;
  clientBudget: number;
  budgetMargin: number;
  /** The pumping guard's region of a phone (phoneRegion); none for other targets. */
  region: string | null;
  pumpingMinSends: number;
  pumpingMinConversion: number;
}

/**
 * A limit otp_issue can refuse on: the hourly sends per target, owner, number block, client and
 * service, and the pumping guard's region and number block.
 */
export type LimitScope =
  'target' | 'calls' | 'owner' | 'block' | 'client' | 'service' | 'region' | 'block_conversion';

/** otp_issue's answer; the columns an outcome does not name are NULL. */
export type OtpIssueRow =
  | {
      outcome: 'issued';
      challenge_id: string;
      auth_code: string;
      attempts_left: number;
      resend_after: number;
    }
  | { outcome: 'live_changed'; challenge_id: string | null; auth_code: string | null }
  | { outcome: 'auth_code_taken' }
  | { outcome: 'too_soon'; retry_after: number }
  | { outcome: 'limited'; scope: LimitScope; sends: number; retry_after: number };

/** A code the database kept, and what the caller is told. */
export interface IssuedCode {
  challengeId: string;
  authCode: string;
  code: string;
  expiresIn: number;
  resendAfter: number;
  attemptsLeft: number;
}

export type IssueStep = { issued: IssuedCode } | { retry: CodeDraft };

/** otp_find_challenge's arguments (and those of whatever reads through it). */
export interface OtpFindArgs {
  clientId: string;
  userId: string;
  target: string;
  authCode: string;
  now: Date;
  maxAttempts: number;
  maxFailures: number;
}

export const OTP_FIND_ARGS: ArgumentTypes<OtpFindArgs> = {
  clientId: 'varchar',
  userId: 'varchar',
  target: 'varchar',
  authCode: 'varchar',
  now: 'timestamptz',
  maxAttempts: 'integer',
  maxFailures: 'integer',
};

/** Where a challenge stands (otp_challenge_state). */
export type ChallengeState = 'live' | 'expired' | 'locked' | 'verified';

/** A challenge as verify finds it (otp_find_challenge); all NULL when there is none. */
export type FoundChallengeRow =
  | {
      challenge_id: string;
      state: ChallengeState;
      attempts_left: number;
      code_hash: Buffer;
      /** Seconds until the target may try codes again, when it is at its cap of wrong codes. */
      retry_after: number | null;
    }
  | { challenge_id: null };

/** A challenge whose code matched or did not: what counting or marking it needs. */
export interface CheckedChallenge {
  challengeId: string;
  codeHash: Buffer;
  target: Target;
  now: Date;
  maxAttempts: number;
}

/** otp_count_wrong_code's arguments (one jsonb argument). */
export interface OtpWrongCodeArgs {
  challengeId: string;
  codeHash: Buffer;
  target: string;
  now: Date;
  maxAttempts: number;
  maxFailures: number;
}

/** otp_count_wrong_code's answer; 'changed': the challenge is no longer the one compared. */
export type OtpWrongCodeRow =
  | { outcome: 'counted' | 'locked'; attempts_left: number }
  | { outcome: 'capped'; retry_after: number }
  | { outcome: 'changed' };

/** otp_mark_verified's arguments (one jsonb argument). */
export interface OtpMarkArgs {
  challengeId: string;
  codeHash: Buffer;
  now: Date;
  maxAttempts: number;
  /** Where the verification counts for the pumping guard. */
  region: string | null;
  block: string | null;
}

/**
 * Below (budget - margin) sends in the hour, concurrent issues cannot overshoot a shared budget
 * (the service's, a client's), so they skip its lock; closer to it they serialise on one lock
 * and count exactly. The margin must exceed the issues in flight across all instances (their
 * pool sizes).
 */
/** INVALID_OTP's message on the last allowed wrong code (`attemptsLeft: 0`). */
export const LOCKED_MESSAGE =
  'wrong code, and it was the last try: this code is now locked; request a new one';

const BUDGET_LOCK_MARGIN = 200;
/** A number block: E.164 without its last digits (10 000 numbers). */
const BLOCK_HIDDEN_DIGITS = 4;

/** What a full hourly limit is called in its refusal. */
const TARGET_NOUNS: Record<TargetKind, string> = {
  phone: 'phone',
  email: 'email address',
  telegram: 'chat',
};
const SCOPE_NOUNS: Record<'calls' | 'owner' | 'block' | 'client' | 'service', string> = {
  calls: 'phone by voice call',
  owner: 'user',
  block: 'number range',
  client: 'app',
  service: 'service',
};
const PUMPING_NOUNS: Record<'region' | 'block_conversion', string> = {
  region: 'country',
  block_conversion: 'number range',
};

/**
 * The challenge engine: makes codes and their hashes, gives the database functions of `sql/`
 * their arguments, and turns their typed answers into outcomes. The rules (what is live, the
 * cooldown, the limits, the attempts) are decided in those functions, atomically and across
 * instances; the order in which a verify's refusals are told is decided here (`check`).
 */
@Injectable()
export class OtpEngine {
  private readonly logger = new Logger(OtpEngine.name);
  private readonly otp: OtpConfig;
  private readonly hasher: CodeHasher;
  readonly policy: OtpPolicy;

  constructor(
    private readonly clock: Clock,
    private readonly codes: CodeGenerator,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.otp = config.otp;
    this.hasher = new CodeHasher(config.otp.secret);
    this.policy = {
      codeLength: config.otp.length,
      ttlSeconds: config.otp.ttlSeconds,
      resendCooldownSeconds: config.otp.resendCooldownSeconds,
      maxAttempts: config.otp.maxAttempts,
    };
  }

  /** A fresh code for a new challenge. */
  draft(): CodeDraft {
    const now = this.clock.now();
    const challengeId = randomUUID();
    const code = this.codes.code(this.otp.length);
    return {
      challengeId,
      liveId: null,
      authCode: this.codes.authCode(),
      code,
      codeHash: this.hasher.hash(challengeId, code),
      now,
      expiresAt: new Date(now.getTime() + this.otp.ttlSeconds * 1000),
    };
  }

  /** otp_issue's arguments for committing `draft`. */
  issueArgs(request: IssueRequest, draft: CodeDraft): OtpIssueArgs {
    return {
      clientId: request.owner.clientId,
      userId: request.owner.userId,
      target: request.target.value,
      targetKind: request.target.kind,
      block: blockOf(request.target),
      channel: request.channel,
      now: draft.now,
      expiresAt: draft.expiresAt,
      challengeId: draft.challengeId,
      liveId: draft.liveId,
      authCode: draft.authCode,
      codeHash: draft.codeHash,
      cooldownSeconds: this.otp.resendCooldownSeconds,
      maxAttempts: this.otp.maxAttempts,
      maxPerTarget: this.otp.maxSendsPerPhonePerHour,
      maxCallsPerTarget: this.otp.maxCallsPerPhonePerHour,
      callFallback: request.channel !== 'voice' && (request.fallbacks ?? []).includes('voice'),
      maxPerOwner: this.otp.maxSendsPerUserPerHour,
      maxPerBlock: this.otp.maxSendsPerPrefixPerHour,
      maxPerService: this.otp.maxSendsPerHour,
      clientBudget: request.limits.hourlySendBudget ?? this.otp.maxSendsPerClientPerHour,
      budgetMargin: BUDGET_LOCK_MARGIN,
      region: regionOf(request.target),
      pumpingMinSends: this.otp.pumpingMinSends,
      pumpingMinConversion: this.otp.pumpingMinConversion,
    };
  }

  /**
   * What otp_issue's answer means: the code was kept; or commit another draft (the same code,
   * hashed for the live challenge the database named, or for a new challenge); or a refusal,
   * thrown: RESEND_TOO_SOON, RATE_LIMITED.
   */
  afterIssue(request: IssueRequest, draft: CodeDraft, row: OtpIssueRow): IssueStep {
    switch (row.outcome) {
      case 'issued':
        return {
          issued: {
            challengeId: row.challenge_id,
            authCode: row.auth_code,
            code: draft.code,
            expiresIn: this.otp.ttlSeconds,
            resendAfter: row.resend_after,
            attemptsLeft: row.attempts_left,
          },
        };
      case 'live_changed':
        return {
          retry: row.challenge_id
            ? this.rehash(draft, row.challenge_id, row.auth_code ?? draft.authCode)
            : this.rehash(draft, randomUUID(), this.codes.authCode(), null),
        };
      case 'auth_code_taken':
        return { retry: { ...draft, authCode: this.codes.authCode() } };
      case 'too_soon':
        throw new AppError(ErrorCode.ResendTooSoon, { retryAfter: row.retry_after });
      case 'limited':
        throw this.limited(request, row);
    }
  }

  /** otp_find_challenge's arguments. */
  findArgs(owner: PartnerUserRef, target: Target, authCode: string): OtpFindArgs {
    return {
      clientId: owner.clientId,
      userId: owner.userId,
      target: target.value,
      authCode,
      now: this.clock.now(),
      maxAttempts: this.otp.maxAttempts,
      maxFailures: this.otp.maxFailedVerifiesPerPhonePerHour,
    };
  }

  /**
   * A submitted code against the challenge found, with the refusals in the contract's order
   * (spec §5): OTP_NOT_FOUND, TOO_MANY_ATTEMPTS (locked), OTP_EXPIRED (expired, or spent by an
   * earlier verify), the target's cap on wrong codes (RATE_LIMITED), and only then the code.
   * `otp` as submitted: a number is padded to the code's length.
   */
  check(
    found: FoundChallengeRow,
    target: Target,
    otp: string | number,
  ): { matched: boolean; challenge: CheckedChallenge } {
    if (found.challenge_id === null) throw new AppError(ErrorCode.OtpNotFound);
    if (found.state === 'locked') throw new AppError(ErrorCode.TooManyAttempts);
    if (found.state !== 'live') throw new AppError(ErrorCode.OtpExpired);
    if (found.retry_after !== null) throw this.capped(found.retry_after);
    const challenge: CheckedChallenge = {
      challengeId: found.challenge_id,
      codeHash: Buffer.from(found.code_hash),
      target,
      now: this.clock.now(),
      maxAttempts: this.otp.maxAttempts,
    };
    return { matched: this.codeMatches(found, otp), challenge };
  }

  /** Whether `otp` is the found challenge's code; constant time. */
  codeMatches(found: FoundChallengeRow, otp: string | number): boolean {
    if (found.challenge_id === null) return false;
    const code = typeof otp === 'number' ? String(otp).padStart(this.otp.length, '0') : otp;
    return this.hasher.matches(Buffer.from(found.code_hash), found.challenge_id, code);
  }

  wrongCodeArgs(challenge: CheckedChallenge): OtpWrongCodeArgs {
    return {
      challengeId: challenge.challengeId,
      codeHash: challenge.codeHash,
      target: challenge.target.value,
      now: challenge.now,
      maxAttempts: challenge.maxAttempts,
      maxFailures: this.otp.maxFailedVerifiesPerPhonePerHour,
    };
  }

  /**
   * A counted wrong code is INVALID_OTP with the attempts left (0 on the last, which locked the
   * challenge); at the target's cap, RATE_LIMITED. Returns normally only when the challenge
   * changed meanwhile (locked, expired, verified or resent): the caller reads it again.
   */
  afterWrongCode(row: OtpWrongCodeRow): void {
    switch (row.outcome) {
      case 'counted':
      case 'locked':
        throw new AppError(
          ErrorCode.InvalidOtp,
          { attemptsLeft: row.attempts_left },
          // The last try: say plainly that this code is done, so the user asks for a new one.
          row.attempts_left === 0 ? LOCKED_MESSAGE : undefined,
        );
      case 'capped':
        throw this.capped(row.retry_after);
      case 'changed':
        return;
    }
  }

  markArgs(challenge: CheckedChallenge): OtpMarkArgs {
    return {
      challengeId: challenge.challengeId,
      codeHash: challenge.codeHash,
      now: challenge.now,
      maxAttempts: challenge.maxAttempts,
      region: regionOf(challenge.target),
      block: blockOf(challenge.target),
    };
  }

  private rehash(
    draft: CodeDraft,
    challengeId: string,
    authCode: string,
    liveId: string | null = challengeId,
  ): CodeDraft {
    return {
      ...draft,
      challengeId,
      liveId,
      authCode,
      codeHash: this.hasher.hash(challengeId, draft.code),
    };
  }

  private capped(retryAfter: number): AppError {
    return new AppError(
      ErrorCode.RateLimited,
      { retryAfter },
      'too many wrong codes for this phone; try again later',
    );
  }

  private limited(
    request: IssueRequest,
    row: Extract<OtpIssueRow, { outcome: 'limited' }>,
  ): AppError {
    const scope = row.scope;
    if (scope === 'region' || scope === 'block_conversion') {
      // Operators alert on this line: sends there stop until the share recovers or they clear it.
      this.logger.warn(
        {
          alert: 'otp_pumping_suspected',
          scope,
          region: regionOf(request.target),
          settled: row.sends,
        },
        'few codes sent there are verified: sends paused (SMS pumping?)',
      );
      return new AppError(
        ErrorCode.RateLimited,
        { retryAfter: row.retry_after },
        `codes to this ${PUMPING_NOUNS[scope]} are paused; try again later`,
      );
    }
    const noun = scope === 'target' ? TARGET_NOUNS[request.target.kind] : SCOPE_NOUNS[scope];
    // Operators alert on these lines: a shared budget ran out, not one user's or target's.
    if (scope === 'service') {
      this.logger.error(
        {
          alert: 'otp_global_send_budget_exhausted',
          sends: row.sends,
          max: this.otp.maxSendsPerHour,
        },
        'global OTP send budget exhausted',
      );
    } else if (scope === 'client') {
      this.logger.warn(
        {
          alert: 'otp_client_send_budget_exhausted',
          clientId: request.owner.clientId,
          sends: row.sends,
        },
        "a partner client's hourly send budget is exhausted",
      );
    }
    return new AppError(
      ErrorCode.RateLimited,
      { retryAfter: row.retry_after },
      `too many codes sent to this ${noun}; try again later`,
    );
  }
}

/** The number block of a phone target (pumping walks through number ranges); none for others. */
export function blockOf(target: Target): string | null {
  return target.kind === 'phone' ? target.value.slice(0, -BLOCK_HIDDEN_DIGITS) : null;
}

/** The region (country) of a phone target, for the pumping guard; none for others. */
function regionOf(target: Target): string | null {
  return target.kind === 'phone' ? phoneRegion(target.value) : null;
}
