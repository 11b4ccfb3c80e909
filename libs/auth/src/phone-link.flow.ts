import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  AppError,
  Clock,
  ErrorCode,
  maskPhone,
  MetricsService,
  normalizePhone,
  PhonePolicy,
  splitE164,
} from '@app/common';
import { AuditRecord, AuditService } from '@app/audit';
import {
  AuditContext,
  ChallengeOwner,
  ChallengeService,
  ChallengeView,
  otpMessageText,
} from '@app/otp';
import { LinkService, UnlinkBy } from '@app/users';
import type { RegisteredClient } from '@app/partners';
import { OutboxService, QueuedMessage } from '@app/notifications';
import type { ThirdPartyUser } from './jwt/third-party-user';

export interface PhoneInput {
  countryCode: string;
  phoneNumber: string;
}

export interface VerifyInput extends PhoneInput {
  authCode: number | string;
  otp: number | string;
}

export interface CodeSent {
  authCode: string;
  isNewUser: boolean;
  expiresIn: number;
  resendAfter: number;
  attemptsLeft: number;
  channel: 'sms';
}

export interface Linked {
  message: 'Users linked successfully';
  userId: string;
  isNewUser: boolean;
}

/** A partner user's link in the contract's field names (spec §3). */
export interface LinkedMobileNumber {
  UserID: string;
  NameSpacedThirdPartyUserID: string;
  WalletAddress: string | null;
  LinkedPhone: string;
  CountryCode: string;
  PhoneUserId: string;
  LinkedAt: string;
}

/** Partner-supplied app names go into SMS text: keep them short and printable. */
const APP_NAME_MAX = 30;
/** A verify re-reads the challenge when a concurrent request changed it; this bounds that. */
const VERIFY_ROUNDS = 3;

/** Verify outcomes as metric labels (a small fixed set). */
const VERIFY_RESULTS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.InvalidOtp]: 'invalid_otp',
  [ErrorCode.OtpExpired]: 'expired',
  [ErrorCode.TooManyAttempts]: 'locked',
  [ErrorCode.OtpNotFound]: 'not_found',
  [ErrorCode.AccountAlreadyLinked]: 'conflict',
  [ErrorCode.PhoneAlreadyLinked]: 'conflict',
  [ErrorCode.RateLimited]: 'rate_limited',
};

/** Events for refusals, so abuse shows in the audit trail. */
const REFUSAL_EVENTS: Partial<Record<ErrorCode, AuditRecord['event']>> = {
  [ErrorCode.RateLimited]: 'rate_limited',
  [ErrorCode.ResendTooSoon]: 'rate_limited',
  [ErrorCode.AccountAlreadyLinked]: 'link_conflict',
  [ErrorCode.PhoneAlreadyLinked]: 'link_conflict',
};

/**
 * The phone-link use case (register / resend / verify) over the challenge engine, the linking
 * rules and the outbox. Checks run in the order of spec §5.
 */
@Injectable()
export class PhoneLinkFlow {
  private readonly blockedNumberTypes: string[];
  /** ALLOWED_COUNTRY_CODES; undefined: every country. */
  private readonly serviceCountryCodes?: string[];
  private readonly otpLength: number;
  private readonly ttlSeconds: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly challenges: ChallengeService,
    private readonly links: LinkService,
    private readonly outbox: OutboxService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.blockedNumberTypes = config.blockedNumberTypes;
    if (config.allowedCountryCodes.length > 0)
      this.serviceCountryCodes = config.allowedCountryCodes;
    this.otpLength = config.otp.length;
    this.ttlSeconds = config.otp.ttlSeconds;
    this.maxAttempts = config.otp.maxAttempts;
  }

  /**
   * Register and resend are one operation: a fresh code on the live challenge of (user, phone),
   * or a new challenge. The challenge, its send and its outbox message commit together, in one
   * database call; the first delivery attempt follows before answering.
   */
  async requestCode(user: ThirdPartyUser, input: PhoneInput, ip: string): Promise<CodeSent> {
    const phone = normalizePhone(input.countryCode, input.phoneNumber, this.policyFor(user));
    const owner = ownerOf(user);
    let message: QueuedMessage | undefined;
    const issued = await this.refusalsAudited(user, phone.e164, ip, () =>
      this.challenges.issue({
        owner,
        phoneE164: phone.e164,
        limits: { hourlySendBudget: user.client?.hourlySendBudget },
        audit: this.auditContext(phone.e164, ip),
        messageFor: (draft) => {
          message = {
            channel: 'sms',
            to: phone.e164,
            body: otpMessageText({
              code: draft.code,
              ttlSeconds: this.ttlSeconds,
              appName: appName(user),
              template: user.client?.messageTemplate ?? undefined,
            }),
            code: draft.code,
            authCode: draft.authCode,
            expiresAt: draft.expiresAt,
            audit: { ...owner, challengeId: draft.challengeId, ip },
          };
          return this.outbox.prepare(message);
        },
      }),
    );

    const outcome = await this.outbox.deliverNow(issued.messageId, message as QueuedMessage);
    if (outcome.status === 'failed') throw new AppError(ErrorCode.PhoneUndeliverable);
    return {
      authCode: issued.authCode,
      isNewUser: !issued.phoneKnown,
      expiresIn: issued.expiresIn,
      resendAfter: issued.resendAfter,
      attemptsLeft: issued.attemptsLeft,
      channel: 'sms',
    };
  }

  async verify(user: ThirdPartyUser, input: VerifyInput, ip: string): Promise<Linked> {
    try {
      const { answer, repeat } = await this.verifyOnce(user, input, ip);
      this.metrics.verifications.inc({ result: repeat ? 'repeat' : 'linked' });
      if (!repeat) this.metrics.links.inc({ result: 'linked' });
      return answer;
    } catch (error) {
      const code = error instanceof AppError ? error.code : undefined;
      this.metrics.verifications.inc({ result: (code && VERIFY_RESULTS[code]) ?? 'rejected' });
      if (code === ErrorCode.AccountAlreadyLinked || code === ErrorCode.PhoneAlreadyLinked) {
        this.metrics.links.inc({ result: code.toLowerCase() });
      }
      throw error;
    }
  }

  private async verifyOnce(
    user: ThirdPartyUser,
    input: VerifyInput,
    ip: string,
  ): Promise<{ answer: Linked; repeat: boolean }> {
    const phone = normalizePhone(input.countryCode, input.phoneNumber, this.policyFor(user));
    const owner = ownerOf(user);
    const authCode = String(input.authCode);
    const otp =
      typeof input.otp === 'number' ? String(input.otp).padStart(this.otpLength, '0') : input.otp;

    const audit = this.auditContext(phone.e164, ip);
    for (let round = 0; round < VERIFY_ROUNDS; round++) {
      const state = await this.challenges.verifyState(owner, phone.e164, authCode);
      const { challenge } = state;

      if (state.accountLinked) {
        // The one exception to "already linked": repeating the verify that made the link.
        if (
          challenge &&
          state.linkChallengeId === challenge.id &&
          this.challenges.codeMatches(challenge, otp)
        ) {
          return { answer: linkedAnswer(challenge), repeat: true };
        }
        await this.recordRefusal(ErrorCode.AccountAlreadyLinked, user, phone.e164, ip);
        throw new AppError(ErrorCode.AccountAlreadyLinked);
      }
      if (state.phoneLinked) {
        await this.recordRefusal(ErrorCode.PhoneAlreadyLinked, user, phone.e164, ip);
        throw new AppError(ErrorCode.PhoneAlreadyLinked);
      }
      if (!challenge) throw new AppError(ErrorCode.OtpNotFound);
      if (challenge.state === 'locked') throw new AppError(ErrorCode.TooManyAttempts);
      // A used code whose link has since been removed is spent like an expired one.
      if (challenge.state === 'expired' || challenge.state === 'verified') {
        throw new AppError(ErrorCode.OtpExpired);
      }

      // The phone's cap on failed verifies across challenges: re-registering does not renew it.
      if (challenge.phoneRetryAfter > 0)
        throw await this.phoneCapped(user, phone.e164, ip, challenge.phoneRetryAfter);

      if (!this.challenges.codeMatches(challenge, otp)) {
        const outcome = await this.challenges.recordWrongCode(owner, phone.e164, challenge, audit);
        if (outcome.counted) {
          throw new AppError(ErrorCode.InvalidOtp, { attemptsLeft: outcome.attemptsLeft });
        }
        if ('retryAfter' in outcome)
          throw await this.phoneCapped(user, phone.e164, ip, outcome.retryAfter);
        continue; // locked, expired or resent meanwhile: the next round answers that
      }

      const linked = await this.refusalsAudited(user, phone.e164, ip, () =>
        this.links.linkVerified({
          challengeId: challenge.id,
          codeHash: challenge.codeHash,
          user,
          phoneE164: phone.e164,
          now: this.clock.now(),
          maxAttempts: this.maxAttempts,
          audit,
        }),
      );
      // undefined: a concurrent verify or resend of this challenge got there first; the next
      // round answers.
      if (linked) {
        const answer: Linked = {
          message: 'Users linked successfully',
          userId: linked.phoneUserId,
          isNewUser: linked.isNewUser,
        };
        return { answer, repeat: false };
      }
    }
    throw new Error('verify did not settle after concurrent changes');
  }

  /** A partner user's link, in the contract's field names; RECORD_NOT_FOUND without one. */
  async linkOf(clientId: string, userId: string): Promise<LinkedMobileNumber> {
    const link = await this.links.findLinkedPhone(clientId, userId);
    if (!link) throw new AppError(ErrorCode.RecordNotFound, {}, 'no phone is linked to this user');
    const { countryCode, nationalNumber } = splitE164(link.phoneE164);
    return {
      UserID: userId,
      NameSpacedThirdPartyUserID: `${clientId}___${userId}`,
      WalletAddress: link.walletAddress,
      LinkedPhone: nationalNumber,
      CountryCode: countryCode,
      PhoneUserId: link.phoneUserId,
      LinkedAt: link.linkedAt.toISOString(),
    };
  }

  /** The phone as the audit rows the database writes keep it: masked and keyed-hashed. */
  private auditContext(phoneE164: string, ip: string): AuditContext {
    return {
      phoneMasked: maskPhone(phoneE164),
      phoneHash: this.audit.phoneHash(phoneE164),
      ip: ip.slice(0, 64),
    };
  }

  private async phoneCapped(
    user: ThirdPartyUser,
    phoneE164: string,
    ip: string,
    retryAfter: number,
  ) {
    const error = new AppError(
      ErrorCode.RateLimited,
      { retryAfter },
      'too many wrong codes for this phone; try again later',
    );
    await this.recordRefusal(error.code, user, phoneE164, ip, error.message);
    return error;
  }

  /**
   * Removes a partner user's link (audited as done by `by.actor`: the user themself, or the
   * partner's backend); the phone can be linked again.
   */
  async unlink(
    clientId: string,
    userId: string,
    by: UnlinkBy,
  ): Promise<{ message: 'Users unlinked successfully' }> {
    if (!(await this.links.unlink(clientId, userId, by))) {
      throw new AppError(ErrorCode.RecordNotFound, {}, 'no phone is linked to this user');
    }
    return { message: 'Users unlinked successfully' };
  }

  /**
   * The country calling codes the client's users may register: the service's
   * ALLOWED_COUNTRY_CODES, narrowed to the client's own list when it has one (a client cannot
   * open a country the service closed). Undefined: every country.
   */
  allowedCountryCodes(client?: RegisteredClient): string[] | undefined {
    const own = client?.allowedCountryCodes;
    const global = this.serviceCountryCodes;
    return own && global ? own.filter((code) => global.includes(code)) : (own ?? global);
  }

  private policyFor(user: ThirdPartyUser): PhonePolicy {
    return {
      allowedCountryCodes: this.allowedCountryCodes(user.client),
      blockedNumberTypes: this.blockedNumberTypes,
    };
  }

  /** Runs `work`; a refusal worth tracing (limits, link conflicts) is written to the audit trail. */
  private async refusalsAudited<T>(
    user: ThirdPartyUser,
    phoneE164: string,
    ip: string,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AppError)
        await this.recordRefusal(error.code, user, phoneE164, ip, error.message);
      throw error;
    }
  }

  private async recordRefusal(
    code: ErrorCode,
    user: ThirdPartyUser,
    phoneE164: string,
    ip: string,
    detail: string = code,
  ): Promise<void> {
    const event = REFUSAL_EVENTS[code];
    if (!event) return;
    await this.audit.record([{ event, ...ownerOf(user), phoneE164, ip, detail }]);
  }
}

function ownerOf(user: ThirdPartyUser): ChallengeOwner {
  return { clientId: user.clientId, userId: user.userId };
}

/** The registry's sender name, else the token's client name, else the registered name. */
function appName(user: ThirdPartyUser): string | undefined {
  const name = user.client?.senderName ?? user.clientName ?? user.client?.name;
  return name?.slice(0, APP_NAME_MAX);
}

function linkedAnswer(challenge: ChallengeView): Linked {
  return {
    message: 'Users linked successfully',
    userId: challenge.resultPhoneUserId ?? '',
    isNewUser: challenge.resultIsNewUser ?? false,
  };
}
