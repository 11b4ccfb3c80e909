import { Inject, Injectable } from '@nestjs/common';
import { getCountryCallingCode, isSupportedCountry } from 'libphonenumber-js/max';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  AppError,
  Clock,
  ErrorCode,
  MetricsService,
  normalizePhone,
  phoneTarget,
  Target,
} from '@app/common';
import { AuditService } from '@app/audit';
import { CodeDraft, IssueRequest, OtpEngine } from '@app/otp';
import { messageContent, OutboxService, QueuedMessage } from '@app/notifications';
import type { RegisteredClient } from '@app/partners';
import { AccessTokens, SessionStore } from '@app/sessions';
import { AppAuthRepository, Owner } from './app-auth.repository';

export interface PhoneInput {
  phoneNumber: string;
  countryShortName: string;
}

export interface SignedIn {
  authToken: string;
  refreshToken: string;
  deviceToken: string;
  sessionId: string;
}

/**
 * A sign-in code's owner id: `phone:` and the first 16 bytes of the phone's keyed hash in hex.
 * Migration AppSignInOwners gives the trail's older events the same id from their target_hash.
 */
function appSignInOwner(targetHash: Buffer): string {
  return `phone:${targetHash.subarray(0, 16).toString('hex')}`;
}

/** A challenge's life may change while a code is committed or checked; this bounds that. */
const ROUNDS = 6;
const APP_NAME_MAX = 30;

/**
 * The app sign-in use case (APP-AUTH.md): a code to a phone, over the same engine as the phone
 * link (hashed codes, outbox, limits, audit, metrics), then a session with its tokens. The
 * engine's owner of a sign-in code is the phone itself within the client (`phone:<its keyed
 * hash>`), so the cooldown, the attempts and the per-owner limits count per (client, phone).
 */
@Injectable()
export class AppAuthFlow {
  private readonly otpTtlSeconds: number;

  constructor(
    private readonly repository: AppAuthRepository,
    private readonly engine: OtpEngine,
    private readonly outbox: OutboxService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly sessions: SessionStore,
    private readonly tokens: AccessTokens,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.otpTtlSeconds = config.appAuth.otpTtlSeconds;
  }

  /** Sends a code; answers the challenge's id: the `token` the verify names. */
  async requestCode(client: RegisteredClient, input: PhoneInput, ip: string): Promise<string> {
    const target = this.phoneOf(client, input);
    const owner = this.ownerOf(client, target, ip);
    const request: IssueRequest = {
      owner: { clientId: client.id, userId: owner.userId },
      target,
      channel: 'sms',
      limits: { hourlySendBudget: client.hourlySendBudget },
    };
    let draft = this.withTtl(this.engine.draft());
    for (let round = 0; round < ROUNDS; round++) {
      const message = this.message(client, owner, target, draft);
      let row;
      try {
        row = await this.repository.requestCode(
          owner,
          this.engine.issueArgs(request, draft),
          this.outbox.prepare(message),
        );
        const step = this.engine.afterIssue(request, draft, row);
        if ('retry' in step) {
          draft = this.withTtl(step.retry);
          continue;
        }
      } catch (error) {
        await this.refusal(error, owner, target);
        throw error;
      }
      if (row.outcome !== 'issued') continue;
      const outcome = await this.outbox.deliverNow(row.message_id, message);
      if (outcome.status === 'failed') throw new AppError(ErrorCode.PhoneUndeliverable);
      return row.challenge_id;
    }
    throw new Error('the challenge kept changing while a code was issued');
  }

  /** Checks the code of challenge `token`; the right one starts a session. */
  async verify(
    client: RegisteredClient,
    input: PhoneInput & { otp: string; token: string },
    ip: string,
  ): Promise<SignedIn> {
    try {
      const signedIn = await this.verifyOnce(client, input, ip);
      this.metrics.verifications.inc({ result: 'signed_in' });
      return signedIn;
    } catch (error) {
      const code = error instanceof AppError ? error.code : undefined;
      this.metrics.verifications.inc({ result: code ? code.toLowerCase() : 'rejected' });
      throw error;
    }
  }

  private async verifyOnce(
    client: RegisteredClient,
    input: PhoneInput & { otp: string; token: string },
    ip: string,
  ): Promise<SignedIn> {
    const target = this.phoneOf(client, input);
    const owner = this.ownerOf(client, target, ip);
    const policy = this.engine.findArgs(owner, target, '');
    for (let round = 0; round < ROUNDS; round++) {
      const found = await this.repository.find(
        input.token,
        { clientId: client.id, userId: owner.userId, target: target.value },
        this.clock.now(),
        policy.maxAttempts,
        policy.maxFailures,
      );
      const check = this.engine.check(found, target, input.otp);
      if (!check.matched) {
        try {
          this.engine.afterWrongCode(
            await this.repository.countWrongCode(owner, this.engine.wrongCodeArgs(check.challenge)),
          );
        } catch (error) {
          await this.refusal(error, owner, target);
          throw error;
        }
        continue;
      }
      const draft = this.sessions.startDraft({ clientId: client.id, phoneUserId: '' });
      const row = await this.repository.verified(
        owner,
        this.engine.markArgs(check.challenge),
        draft.args,
        target.value,
      );
      if (row.outcome !== 'verified') continue;
      const { token } = await this.tokens.issue({
        sessionId: row.session_id,
        clientId: client.id,
        phoneUserId: row.phone_user_id,
        phoneE164: target.value,
      });
      return {
        authToken: token,
        refreshToken: draft.refreshToken,
        deviceToken: draft.deviceToken,
        sessionId: row.session_id,
      };
    }
    throw new Error('verify did not settle after concurrent changes');
  }

  /**
   * The client's users, as the engine keys its limits: one owner per phone within the client.
   * The owner's id is the phone's keyed hash (the trail's), not the number: it is written to the
   * audit trail, which is kept for ever and holds no number in the clear.
   */
  private ownerOf(client: RegisteredClient, target: Target, ip: string): Owner {
    const audited = this.audit.audited(target);
    return {
      clientId: client.id,
      userId: appSignInOwner(audited.targetHash),
      ...audited,
      ip: ip.slice(0, 64),
    };
  }

  /** `country_short_name` (ISO 3166 alpha-2) and the national number, through the phone rules. */
  private phoneOf(client: RegisteredClient, input: PhoneInput): Target {
    const region = input.countryShortName.toUpperCase();
    if (!isSupportedCountry(region)) {
      throw new AppError(ErrorCode.InvalidPhone, {}, 'country_short_name is not a known country');
    }
    const countryCode = `+${getCountryCallingCode(region)}`;
    const global = this.config.allowedCountryCodes;
    const own = client.allowedCountryCodes;
    const allowed =
      own && global.length > 0
        ? own.filter((code) => global.includes(code))
        : (own ?? (global.length > 0 ? global : undefined));
    const e164 = normalizePhone(countryCode, input.phoneNumber, {
      allowedCountryCodes: allowed,
      blockedNumberTypes: this.config.blockedNumberTypes,
      blockedPrefixes: this.config.blockedPrefixes,
    }).e164;
    return phoneTarget(e164);
  }

  private withTtl(draft: CodeDraft): CodeDraft {
    return { ...draft, expiresAt: new Date(draft.now.getTime() + this.otpTtlSeconds * 1000) };
  }

  private message(
    client: RegisteredClient,
    owner: Owner,
    target: Target,
    draft: CodeDraft,
  ): QueuedMessage {
    const content = messageContent('sms', {
      code: draft.code,
      ttlSeconds: this.otpTtlSeconds,
      appName: (client.senderName ?? client.name).slice(0, APP_NAME_MAX),
      template: client.messageTemplate ?? undefined,
      webOtpDomain: this.config.notify.webOtpDomain,
    });
    return {
      fallbacks: [],
      channel: 'sms',
      to: target.value,
      body: content.body,
      subject: content.subject,
      locale: content.locale,
      code: draft.code,
      authCode: draft.authCode,
      expiresAt: draft.expiresAt,
      audit: {
        clientId: owner.clientId,
        userId: owner.userId,
        challengeId: draft.challengeId,
        ip: owner.ip,
      },
    };
  }

  /** Limits and cooldowns go to the audit trail, so abuse shows there. */
  private async refusal(error: unknown, owner: Owner, target: Target): Promise<void> {
    if (!(error instanceof AppError)) return;
    if (error.code !== ErrorCode.RateLimited && error.code !== ErrorCode.ResendTooSoon) return;
    await this.audit.record([
      {
        event: 'rate_limited',
        clientId: owner.clientId,
        userId: owner.userId,
        target,
        ip: owner.ip,
        detail: error.message,
      },
    ]);
  }
}
