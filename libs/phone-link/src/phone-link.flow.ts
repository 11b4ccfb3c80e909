import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  AppError,
  Channel,
  CHANNEL_TARGET,
  ErrorCode,
  MetricsService,
  normalizePhone,
  PartnerUserRef,
  phoneTarget,
  PhonePolicy,
  splitE164,
  Target,
} from '@app/common';
import { AuditedTarget, AuditRecord, AuditService } from '@app/audit';
import { CheckedChallenge, CodeDraft, IssueRequest, OtpEngine, OtpPolicy } from '@app/otp';
import { LinkRepository, UnlinkBy } from '@app/users';
import type { RegisteredClient } from '@app/partners';
import {
  localeFromAcceptLanguage,
  messageContent,
  Notifiers,
  OutboxService,
  QueuedMessage,
} from '@app/notifications';
import { PhoneLinkRepository, VerifyStateRow } from './phone-link.repository';

/** The partner user a request acts for, as its verified token names it. */
export interface LinkingUser extends PartnerUserRef {
  walletAddress?: string;
  clientName?: string;
  /** The client's registry entry (its settings), when the client is registered. */
  client?: RegisteredClient;
}

export interface PhoneInput {
  countryCode: string;
  phoneNumber: string;
}

/** What register and resend are asked for: the phone, and how and in which language. */
export interface CodeRequestInput extends PhoneInput {
  /** Default `sms`; must be enabled and reach a phone (CHANNEL_NOT_AVAILABLE otherwise). */
  channel?: Channel;
  /** BCP 47 from the body; else the Accept-Language header; else English. */
  locale?: string;
  acceptLanguage?: string | string[];
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
  channel: Channel;
}

export interface Linked {
  message: 'Users linked successfully';
  userId: string;
  isNewUser: boolean;
}

/** The link a verify made, or answered again: what its verification token says. */
export interface LinkMade {
  phoneE164: string;
  phoneUserId: string;
  linkedAt: Date;
}

/** A verify's answer, and the link as its own transaction saw it. */
export interface Verified {
  answer: Linked;
  link: LinkMade;
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
/** A code's challenge may change while it is committed (a resend, a verify); this bounds that. */
const ISSUE_ROUNDS = 6;
/** A verify re-reads the challenge when a concurrent request changed it; this bounds that. */
const VERIFY_ROUNDS = 3;
/** A code goes by SMS unless the request names another channel. */
const DEFAULT_CHANNEL: Channel = 'sms';
/**
 * Number types a call never goes to, whatever BLOCKED_NUMBER_TYPES says: a call to a premium or
 * shared-cost number bills the caller (toll fraud), and personal numbers forward anywhere.
 */
const NEVER_CALLED_TYPES = ['PREMIUM_RATE', 'SHARED_COST', 'UAN', 'PERSONAL_NUMBER', 'VOIP'];

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
 * The phone-link use case: register / resend / verify a partner user's phone and link it to the
 * phone identity. Each step is one transaction (sql/) composed of the libs' primitives: the
 * linking rules (users), the code (otp), its message (notifications) and the events (audit).
 * Here the steps are orchestrated, refusals audited and metrics counted; the rules themselves
 * live in the libs.
 */
@Injectable()
export class PhoneLinkFlow {
  private readonly blockedNumberTypes: string[];
  private readonly blockedPrefixes: string[];
  /** ALLOWED_COUNTRY_CODES; undefined: every country. */
  private readonly serviceCountryCodes?: string[];
  private readonly webOtpDomain?: string;
  /** NOTIFY_FALLBACK: the chain a code follows when its channel fails for good. */
  private readonly fallbackChain: Channel[];

  constructor(
    private readonly transactions: PhoneLinkRepository,
    private readonly engine: OtpEngine,
    private readonly links: LinkRepository,
    private readonly outbox: OutboxService,
    private readonly notifiers: Notifiers,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.blockedNumberTypes = config.blockedNumberTypes;
    this.blockedPrefixes = config.blockedPrefixes;
    this.webOtpDomain = config.notify.webOtpDomain;
    this.fallbackChain = config.notify.fallback;
    if (config.allowedCountryCodes.length > 0)
      this.serviceCountryCodes = config.allowedCountryCodes;
  }

  /** The channels a code can go on. */
  get channels(): Channel[] {
    return this.notifiers.channels;
  }

  /** Code length, lifetime, cooldown and attempts, as a frontend renders them. */
  get policy(): OtpPolicy {
    return this.engine.policy;
  }

  /**
   * Register and resend are one operation: a fresh code on the live challenge of (user, phone),
   * or a new challenge. The challenge, its send and its outbox message commit together, in one
   * database call; the first delivery attempt follows before answering.
   */
  async requestCode(user: LinkingUser, input: CodeRequestInput, ip: string): Promise<CodeSent> {
    const channel = this.channelOf(input.channel);
    const target = this.phoneOf(user, input, channel);
    const fallbacks = this.fallbacksOf(user, input, channel);
    const request: IssueRequest = {
      owner: { clientId: user.clientId, userId: user.userId },
      target,
      channel,
      limits: { hourlySendBudget: user.client?.hourlySendBudget },
      fallbacks,
    };
    const locale = input.locale ?? localeFromAcceptLanguage(input.acceptLanguage);
    const { issued, phoneKnown, messageId, message } = await this.refusalsAudited(
      user,
      target,
      ip,
      () => this.issue(user, request, ip, locale, fallbacks),
    );
    const outcome = await this.outbox.deliverNow(messageId, message);
    if (outcome.status === 'failed') throw new AppError(ErrorCode.PhoneUndeliverable);
    return {
      authCode: issued.authCode,
      isNewUser: !phoneKnown,
      expiresIn: issued.expiresIn,
      resendAfter: issued.resendAfter,
      attemptsLeft: issued.attemptsLeft,
      channel: request.channel,
    };
  }

  /**
   * Draft → commit: the engine makes a code, its message is made from it, and both are
   * committed in one transaction; when the database names another challenge for the code, the
   * engine gives the draft to commit instead.
   */
  private async issue(
    user: LinkingUser,
    request: IssueRequest,
    ip: string,
    locale: string | undefined,
    fallbacks: Channel[],
  ) {
    const audited = { ...this.audit.audited(request.target), ip: ip.slice(0, 64) };
    let draft = this.engine.draft();
    for (let round = 0; round < ISSUE_ROUNDS; round++) {
      const message = this.message(user, request, draft, ip, locale, fallbacks);
      const prepared = this.outbox.prepare(message);
      const row = await this.transactions.requestCode({
        ...request.owner,
        phone: request.target.value,
        ...audited,
        probes: this.links.probeArgs(user),
        issue: this.engine.issueArgs(request, draft),
        message: prepared,
      });
      if (row.outcome === 'account_linked') throw new AppError(ErrorCode.AccountAlreadyLinked);
      if (row.outcome === 'probes_exhausted') throw probesExhausted(row.retry_after);
      if (row.outcome === 'phone_linked') throw await this.phoneLinked(user);
      const step = this.engine.afterIssue(request, draft, row);
      if ('retry' in step) {
        draft = step.retry;
      } else if (row.outcome === 'issued') {
        return {
          issued: step.issued,
          phoneKnown: row.phone_known,
          messageId: row.message_id,
          message,
        };
      }
    }
    throw new Error('the challenge kept changing while a code was issued');
  }

  /** The message of a drafted code, to its target. */
  private message(
    user: LinkingUser,
    request: IssueRequest,
    draft: CodeDraft,
    ip: string,
    locale: string | undefined,
    fallbacks: Channel[],
  ): QueuedMessage {
    const contentOn = (channel: Channel) =>
      messageContent(channel, {
        code: draft.code,
        ttlSeconds: this.engine.policy.ttlSeconds,
        appName: appName(user),
        linksPhone: true,
        template: user.client?.messageTemplate ?? undefined,
        templates: user.client?.messageTemplates ?? undefined,
        appHash: user.client?.androidAppHash ?? undefined,
        locale,
        webOtpDomain: this.webOtpDomain,
      });
    const content = contentOn(request.channel);
    return {
      fallbacks: fallbacks.map((channel) => {
        const next = contentOn(channel);
        return { channel, ...next, code: draft.code, authCode: draft.authCode };
      }),
      channel: request.channel,
      to: request.target.value,
      body: content.body,
      subject: content.subject,
      locale: content.locale,
      code: draft.code,
      authCode: draft.authCode,
      expiresAt: draft.expiresAt,
      audit: { ...request.owner, challengeId: draft.challengeId, ip },
    };
  }

  async verify(user: LinkingUser, input: VerifyInput, ip: string): Promise<Verified> {
    try {
      const { repeat, ...verified } = await this.verifyOnce(user, input, ip);
      this.metrics.verifications.inc({ result: repeat ? 'repeat' : 'linked' });
      if (!repeat) this.metrics.links.inc({ result: 'linked' });
      return verified;
    } catch (error) {
      const code = error instanceof AppError ? error.code : undefined;
      this.metrics.verifications.inc({ result: (code && VERIFY_RESULTS[code]) ?? 'rejected' });
      if (code === ErrorCode.AccountAlreadyLinked || code === ErrorCode.PhoneAlreadyLinked) {
        this.metrics.links.inc({ result: code.toLowerCase() });
      }
      throw error;
    }
  }

  /**
   * The linking rules first (spec §5: conflicts before the code's refusals), then the engine's
   * check of the code, then counting a wrong code or linking with the right one. When the
   * challenge changed meanwhile (a resend, a concurrent verify), the next round reads it again.
   */
  private async verifyOnce(
    user: LinkingUser,
    input: VerifyInput,
    ip: string,
  ): Promise<Verified & { repeat: boolean }> {
    const target = this.phoneOf(user, input);
    const audited = { ...this.audit.audited(target), ip: ip.slice(0, 64) };
    for (let round = 0; round < VERIFY_ROUNDS; round++) {
      const state = await this.transactions.verifyState({
        ...this.engine.findArgs(user, target, String(input.authCode)),
        probes: this.links.probeArgs(user),
      });
      const repeat = this.repeatedVerify(state, target, input.otp);
      if (repeat) return { ...repeat, repeat: true };
      await this.linkingRules(user, target, ip, state);

      const check = await this.refusalsAudited(user, target, ip, async () =>
        this.engine.check(state, target, input.otp),
      );
      if (!check.matched) {
        // Throws INVALID_OTP or RATE_LIMITED; returns when the challenge changed meanwhile
        // (locked, expired, verified or resent), which the next round answers.
        await this.refusalsAudited(user, target, ip, async () =>
          this.engine.afterWrongCode(
            await this.transactions.countWrongCode({
              clientId: user.clientId,
              userId: user.userId,
              ...audited,
              count: this.engine.wrongCodeArgs(check.challenge),
            }),
          ),
        );
        continue;
      }
      const linked = await this.refusalsAudited(user, target, ip, () =>
        this.link(user, check.challenge, audited),
      );
      if (linked) return { ...linked, repeat: false };
    }
    throw new Error('verify did not settle after concurrent changes');
  }

  /**
   * The one exception to "already linked" (spec §3): repeating the very verify that made the
   * link answers its answer again.
   */
  private repeatedVerify(
    state: VerifyStateRow,
    target: Target,
    otp: string | number,
  ): Verified | undefined {
    if (
      !state.account_linked ||
      state.challenge_id === null ||
      state.link_challenge_id !== state.challenge_id ||
      state.link_phone_user_id === null ||
      state.link_linked_at === null ||
      !this.engine.codeMatches(state, otp)
    ) {
      return undefined;
    }
    // The link's challenge is this one, so its phone is this challenge's target.
    return verified(
      target,
      state.link_phone_user_id,
      state.link_phone_user_created ?? false,
      state.link_linked_at,
    );
  }

  /** ACCOUNT_ALREADY_LINKED / PHONE_ALREADY_LINKED (audited) when linking could not succeed. */
  private async linkingRules(
    user: LinkingUser,
    target: Target,
    ip: string,
    state: VerifyStateRow,
  ): Promise<void> {
    const exhausted = state.probes_retry_after;
    if (!state.account_linked && exhausted === null && !state.phone_linked) return;
    const error = state.account_linked
      ? new AppError(ErrorCode.AccountAlreadyLinked)
      : exhausted !== null
        ? probesExhausted(exhausted)
        : await this.phoneLinked(user);
    const detail = error.code === ErrorCode.RateLimited ? error.message : error.code;
    await this.recordRefusal(error.code, user, target, ip, detail);
    throw error;
  }

  /**
   * PHONE_ALREADY_LINKED tells the user that another user of its client has the phone: each one
   * is a link probe, and past the user's or the client's hourly budget of them the answer is
   * RATE_LIMITED instead, so linked phones cannot be tested at request speed. (The contract's
   * order holds: the limits of sends come after this.)
   */
  private async phoneLinked(user: LinkingUser): Promise<AppError> {
    const probe = await this.links.countProbe(user);
    return probe.limited
      ? probesExhausted(probe.retryAfter)
      : new AppError(ErrorCode.PhoneAlreadyLinked);
  }

  /** The right code: verified and linked in one transaction; undefined if the challenge changed. */
  private async link(
    user: LinkingUser,
    challenge: CheckedChallenge,
    audited: AuditedTarget & { ip: string },
  ): Promise<Verified | undefined> {
    const row = await this.transactions.linkVerified({
      clientId: user.clientId,
      userId: user.userId,
      phone: challenge.target.value,
      ...audited,
      mark: this.engine.markArgs(challenge),
      walletAddress: user.walletAddress ?? null,
      clientName: user.clientName ?? null,
    });
    if (row.outcome !== 'linked') return undefined;
    return verified(challenge.target, row.phone_user_id, row.phone_user_created, row.linked_at);
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

  /**
   * The channel asked for: enabled, and one that reaches a phone (CHANNELS.md); else
   * CHANNEL_NOT_AVAILABLE. The DTO already refused what is no channel at all.
   */
  private channelOf(asked: Channel = DEFAULT_CHANNEL): Channel {
    if (CHANNEL_TARGET[asked] !== 'phone') {
      throw new AppError(
        ErrorCode.ChannelNotAvailable,
        {},
        `channel ${asked} cannot send to a phone; use one of ${this.phoneChannels().join(', ')}`,
      );
    }
    if (!this.notifiers.channels.includes(asked)) {
      throw new AppError(
        ErrorCode.ChannelNotAvailable,
        {},
        `channel ${asked} is not enabled; use one of ${this.phoneChannels().join(', ')}`,
      );
    }
    return asked;
  }

  /**
   * The channels after `channel` in NOTIFY_FALLBACK that are enabled, reach a phone and may send
   * to this one (a call never goes to a premium number, even as a fallback).
   */
  private fallbacksOf(user: LinkingUser, input: PhoneInput, channel: Channel): Channel[] {
    const at = this.fallbackChain.indexOf(channel);
    if (at < 0) return [];
    return this.fallbackChain.slice(at + 1).filter((next) => {
      if (CHANNEL_TARGET[next] !== 'phone' || !this.notifiers.channels.includes(next)) return false;
      try {
        this.phoneOf(user, input, next);
        return true;
      } catch {
        return false;
      }
    });
  }

  private phoneChannels(): Channel[] {
    return this.notifiers.channels.filter((channel) => CHANNEL_TARGET[channel] === 'phone');
  }

  /**
   * The request's phone as a target, through the checks of spec §5 (countries, validity, types).
   * The blocked number types apply per channel: a call is never made to the types that bill
   * the caller, whatever BLOCKED_NUMBER_TYPES allows.
   */
  private phoneOf(
    user: LinkingUser,
    input: PhoneInput,
    channel: Channel = DEFAULT_CHANNEL,
  ): Target {
    const blockedNumberTypes =
      channel === 'voice'
        ? [...new Set([...this.blockedNumberTypes, ...NEVER_CALLED_TYPES])]
        : this.blockedNumberTypes;
    const policy: PhonePolicy = {
      allowedCountryCodes: this.allowedCountryCodes(user.client),
      blockedNumberTypes,
      blockedPrefixes: this.blockedPrefixes,
    };
    return phoneTarget(normalizePhone(input.countryCode, input.phoneNumber, policy).e164);
  }

  /** Runs `work`; a refusal worth tracing (limits, link conflicts) is written to the audit trail. */
  private async refusalsAudited<T>(
    user: LinkingUser,
    target: Target,
    ip: string,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AppError)
        await this.recordRefusal(error.code, user, target, ip, error.message);
      throw error;
    }
  }

  private async recordRefusal(
    code: ErrorCode,
    user: LinkingUser,
    target: Target,
    ip: string,
    detail: string = code,
  ): Promise<void> {
    const event = REFUSAL_EVENTS[code];
    if (!event) return;
    await this.audit.record([
      { event, clientId: user.clientId, userId: user.userId, target, ip, detail },
    ]);
  }
}

/** The registry's sender name, else the token's client name, else the registered name. */
function appName(user: LinkingUser): string | undefined {
  const name = user.client?.senderName ?? user.clientName ?? user.client?.name;
  return name?.slice(0, APP_NAME_MAX);
}

/** A verify's answer and the link it made (or made before), for the phone of `target`. */
function verified(
  target: Target,
  phoneUserId: string,
  isNewUser: boolean,
  linkedAt: Date,
): Verified {
  return {
    answer: { message: 'Users linked successfully', userId: phoneUserId, isNewUser },
    link: { phoneE164: target.value, phoneUserId, linkedAt },
  };
}

/**
 * A user out of link probes: RATE_LIMITED for every register and verify, whatever the phone, so
 * the answer says nothing about which phones are linked.
 */
function probesExhausted(retryAfter: number): AppError {
  return new AppError(
    ErrorCode.RateLimited,
    { retryAfter },
    'too many phones already linked to other users were tried; try again later',
  );
}
