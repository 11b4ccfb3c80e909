import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  AppError,
  Channel,
  emailTarget,
  ErrorCode,
  limitedIp,
  type LimitedIp,
  MetricsService,
  normalizePhone,
  phoneTarget,
  PhonePolicy,
  splitE164,
  Target,
  telegramTarget,
} from '@app/common';
import { jsonArgs, Sql, sqlFunctionCall } from '@app/database';
import { AuditService } from '@app/audit';
import { ApiLimits, OtpApiCodes, OtpApiIssueRow, OtpApiRate } from '@app/otp';
import { messageContent, Notifiers, OutboxService, QueuedMessage } from '@app/notifications';
import type { RegisteredClient } from '@app/partners';
import { badRequest, missing, OtpApiError } from './otp-api.errors';

/** The API's channels as its paths name them, and the engine's channel of each. */
export const API_CHANNELS = ['sms', 'call', 'email', 'telegram'] as const;
export type ApiChannel = (typeof API_CHANNELS)[number];
export const ENGINE_CHANNEL: Record<ApiChannel, Channel> = {
  sms: 'sms',
  call: 'voice',
  email: 'email',
  telegram: 'telegram',
};
/** The field that names the target, and its limits' key (POST /limit/{channel}). */
export const TARGET_FIELD: Record<ApiChannel, 'phone' | 'email' | 'chat_id'> = {
  sms: 'phone',
  call: 'phone',
  email: 'email',
  telegram: 'chat_id',
};
export const LIMITS_KEY: Record<ApiChannel, 'phones' | 'emails' | 'chat_ids'> = {
  sms: 'phones',
  call: 'phones',
  email: 'emails',
  telegram: 'chat_ids',
};

/** Parameters as they arrive: the query and the JSON body merged (the body wins). */
export type Params = Record<string, unknown>;

const DEFAULT_LIFETIME = 300;
const MAX_LIFETIME = 86_400;
const PASSWORD = /^[\x21-\x7e]{1,64}$/;
/** A call reads the password digit by digit. */
const CALL_PASSWORD = /^\d{1,12}$/;
const PLACEHOLDER = '{code}';
const MAX_MESSAGE = 1_000;
const MAX_SUBJECT = 200;
const MAX_EMAIL_PART = 10_000;
/** The Telegram bot's passwords. */
const BOT_PASSWORD_LENGTH = 8;
const ISSUE_ROUNDS = 5;
const MAX_LIMITS = 10;
const MAX_LIMIT_MINUTES = 1_440;
const MAX_LIMIT_RATE = 1_000_000;
// Control characters other than line breaks and tabs are refused in texts.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// A subject is one header line: no control character at all (CR/LF would fold or break it),
// nor the C1 controls and Unicode line separators some clients show as line breaks.
// eslint-disable-next-line no-control-regex
const SUBJECT_BREAKS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Calls never go to these number types (as on /fe): they bill the caller or forward anywhere. */
const NEVER_CALLED_TYPES = ['PREMIUM_RATE', 'SHARED_COST', 'UAN', 'PERSONAL_NUMBER', 'VOIP'];

const CREATE = sqlFunctionCall<
  {
    clientId: string;
    codeId: string;
    issue: object;
    message: object;
    targetMasked: string;
    targetHash: Buffer;
    ip: string | null;
    detail: string;
  },
  OtpApiIssueRow & { message_id: string | null }
>('otp_api_create', {
  clientId: 'varchar',
  codeId: 'uuid',
  issue: 'jsonb',
  message: 'jsonb',
  targetMasked: 'varchar',
  targetHash: 'bytea',
  ip: 'varchar',
  detail: 'varchar',
});

/** A present parameter as text: a string, or a finite number; anything else is refused. */
function text(params: Params, field: string): string | undefined {
  const value = params[field];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') throw badRequest(`"${field}" parameter must be a string`);
  return value;
}

function required(params: Params, field: string): string {
  const value = text(params, field);
  if (value === undefined) throw missing(field);
  return value;
}

/**
 * The OTP API of OTP-API.md over the engine: passwords created (the client's and the service's
 * limits, keyed hashes, the outbox, the audit trail), checked, found by their target, and the
 * clients' own limits. Answers are the contract's; refusals are thrown as OtpApiError (400,
 * 422) or AppError RATE_LIMITED (429).
 */
@Injectable()
export class OtpApiService {
  private readonly logger = new Logger(OtpApiService.name);
  private readonly requests: Counter<'channel' | 'action' | 'result'>;
  private readonly phonePolicy: PhonePolicy;
  private readonly botClientId?: string;

  constructor(
    private readonly codes: OtpApiCodes,
    private readonly sql: Sql,
    private readonly outbox: OutboxService,
    private readonly notifiers: Notifiers,
    private readonly audit: AuditService,
    metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.phonePolicy = {
      allowedCountryCodes:
        config.allowedCountryCodes.length > 0 ? config.allowedCountryCodes : undefined,
      blockedNumberTypes: config.blockedNumberTypes,
      blockedPrefixes: config.blockedPrefixes,
    };
    this.botClientId = config.notify.telegram.botClientId;
    this.requests = new Counter({
      name: 'otp_api_requests_total',
      help: 'OTP API requests by channel, action (create, check, target) and result',
      labelNames: ['channel', 'action', 'result'] as const,
      registers: [metrics.registry],
    });
  }

  /** POST /{channel}: a password for the target, its message sent (or queued). */
  async create(
    client: RegisteredClient,
    channel: ApiChannel,
    params: Params,
    defaultIp: LimitedIp | null = null,
  ): Promise<void> {
    this.enabled(channel);
    const target = this.target(channel, params, client);
    const given = text(params, 'password');
    if (given !== undefined) this.checkPassword(channel, given);
    const lifetime = this.lifetime(params);
    const ip = this.ip(params) ?? defaultIp;
    const password = given ?? this.codes.newPassword();
    const content = this.content(client, channel, params, password, lifetime);
    try {
      await this.issue(client, channel, target, password, lifetime, ip, content, false);
      this.requests.inc({ channel, action: 'create', result: 'created' });
    } catch (error) {
      this.requests.inc({ channel, action: 'create', result: resultOf(error) });
      throw error;
    }
  }

  /** GET /{channel}/check: whether the password is live for the target (never tells why not). */
  async check(client: RegisteredClient, channel: ApiChannel, params: Params): Promise<boolean> {
    const engineChannel = ENGINE_CHANNEL[channel];
    const target = this.target(channel, params, client, false);
    const password = required(params, 'password');
    if (password.length > 256) return false;
    const outcome = await this.codes.check(client.id, engineChannel, target, password);
    this.requests.inc({ channel, action: 'check', result: outcome });
    if (outcome === 'matched' || outcome === 'wrong') {
      await this.audit.record([
        {
          event: outcome === 'matched' ? 'verified' : 'verify_failed',
          actor: 'partner',
          clientId: client.id,
          target,
          detail: `otp-api ${channel}`,
        },
      ]);
    }
    return outcome === 'matched';
  }

  /** GET /target: the target of a live password of the channel; null when there is none. */
  async findTarget(
    client: RegisteredClient,
    params: Params,
    requestIp: string,
  ): Promise<string | null> {
    const channelName = required(params, 'channel');
    if (!(API_CHANNELS as readonly string[]).includes(channelName)) {
      throw badRequest('"channel" must be one of sms, call, email, telegram');
    }
    const channel = channelName as ApiChannel;
    const password = required(params, 'password');
    // The caller's own address counts under the same key as an `ip` naming it would.
    const ip = this.ip(params)?.key ?? limitedIp(requestIp)?.key ?? requestIp.slice(0, 64);
    if (password.length > 256) return null;
    const found = await this.codes.findTarget(client.id, ENGINE_CHANNEL[channel], password, ip);
    this.requests.inc({ channel, action: 'target', result: found.outcome });
    return found.outcome === 'found' ? found.target : null;
  }

  async limits(client: RegisteredClient, channel: ApiChannel): Promise<Record<string, unknown>> {
    const limits = await this.codes.limits(client.id, ENGINE_CHANNEL[channel]);
    return { ips: limits.ips, [LIMITS_KEY[channel]]: limits.targets };
  }

  /** POST /limit/{channel}: replaces the client's limits of the channel. */
  async setLimits(client: RegisteredClient, channel: ApiChannel, params: Params): Promise<void> {
    const allowed = new Set(['ips', LIMITS_KEY[channel]]);
    const unknown = Object.keys(params).find((key) => !allowed.has(key));
    if (unknown !== undefined) {
      throw badRequest(
        `"${unknown.slice(0, 40)}" is not a limit of ${channel}: use ips and ${LIMITS_KEY[channel]}`,
      );
    }
    const limits: ApiLimits = {
      ips: rates(params.ips, 'ips'),
      targets: rates(params[LIMITS_KEY[channel]], LIMITS_KEY[channel]),
    };
    await this.codes.setLimits(client.id, ENGINE_CHANNEL[channel], limits);
  }

  /**
   * The Telegram bot (POST /telegram/webhook): a fresh 8-digit password for the chat, unique
   * among the bot's live ones, sent to the chat. False when the bot has no client configured.
   */
  async botPassword(chatId: string, client: RegisteredClient | undefined): Promise<boolean> {
    if (!client) {
      this.logger.warn(
        'a Telegram update arrived but TELEGRAM_BOT_CLIENT_ID names no active client',
      );
      return false;
    }
    if (!this.notifiers.channels.includes('telegram')) {
      this.logger.warn('a Telegram update arrived but the telegram channel is not enabled');
      return false;
    }
    const target = telegramTarget(chatId);
    for (let round = 0; round < ISSUE_ROUNDS; round++) {
      const password = this.codes.newPassword(BOT_PASSWORD_LENGTH);
      const content = this.content(client, 'telegram', {}, password, DEFAULT_LIFETIME);
      const issued = await this.issue(
        client,
        'telegram',
        target,
        password,
        DEFAULT_LIFETIME,
        null,
        content,
        true,
      );
      if (issued) {
        this.requests.inc({ channel: 'telegram', action: 'bot', result: 'created' });
        return true;
      }
    }
    throw new Error('no free bot password after several tries');
  }

  get botClient(): string | undefined {
    return this.botClientId;
  }

  /** False only when the password was taken (the bot's unique passwords): draw another. */
  private async issue(
    client: RegisteredClient,
    channel: ApiChannel,
    target: Target,
    password: string,
    lifetime: number,
    ip: LimitedIp | null,
    content: { body: string; subject?: string; html?: string },
    uniquePassword: boolean,
  ): Promise<boolean> {
    const engineChannel = ENGINE_CHANNEL[channel];
    const draft = this.codes.draft({
      clientId: client.id,
      channel: engineChannel,
      target,
      password,
      lifetimeSeconds: lifetime,
      // The limits count under the key (an IPv6 /64); the audit trail keeps the address.
      ip: ip?.key,
    });
    const message: QueuedMessage = {
      channel: engineChannel,
      to: target.value,
      body: content.body,
      subject: content.subject,
      html: content.html,
      code: password,
      expiresAt: draft.expiresAt,
      audit: { actor: 'partner', clientId: client.id, challengeId: draft.id, ip: ip?.address },
    };
    const audited = this.audit.audited(target);
    const row = await this.sql.call(CREATE, {
      clientId: client.id,
      codeId: draft.id,
      issue: this.codes.issueArgs(draft, {
        hourlySendBudget: client.hourlySendBudget,
        uniquePassword,
      }),
      message: jsonArgs(this.outbox.prepare(message)),
      targetMasked: audited.targetMasked,
      targetHash: audited.targetHash,
      ip: ip?.address ?? null,
      detail: `otp-api ${channel}`,
    });
    switch (row.outcome) {
      case 'issued':
        break;
      case 'password_taken':
        return false;
      case 'ip_limit':
      case 'target_limit': {
        const field = row.outcome === 'ip_limit' ? 'ip' : TARGET_FIELD[channel];
        await this.recordRefusal(client, target, ip, `${field}_limit`);
        throw new OtpApiError(400, {
          status: false,
          status_code: `${field}_limit`,
          message: `Limits are reached: ${field} - ${row.rate} in ${row.minutes} minutes`,
        });
      }
      case 'limited':
        await this.recordRefusal(client, target, ip, `limited ${row.scope}`);
        throw this.codes.limited(target, row);
    }
    const outcome = await this.outbox.deliverNow(row.message_id as string, message);
    if (outcome.status === 'failed') {
      throw new OtpApiError(422, {
        status: false,
        status_code: 'undeliverable',
        message: `the ${channel === 'call' ? 'phone' : TARGET_FIELD[channel]} cannot be reached: the provider refused it`,
      });
    }
    return true;
  }

  private async recordRefusal(
    client: RegisteredClient,
    target: Target,
    ip: LimitedIp | null,
    detail: string,
  ): Promise<void> {
    await this.audit.record([
      {
        event: 'rate_limited',
        actor: 'partner',
        clientId: client.id,
        target,
        ip: ip?.address,
        detail: `otp-api ${detail}`,
      },
    ]);
  }

  /** The engine's channel, when it is enabled (NOTIFY_CHANNELS) with a driver. */
  private enabled(channel: ApiChannel): Channel {
    const engineChannel = ENGINE_CHANNEL[channel];
    if (!this.notifiers.channels.includes(engineChannel)) {
      throw badRequest(`the ${channel} channel is not enabled on this service`);
    }
    return engineChannel;
  }

  /** The target named by the channel's field, normalised; `policy`: the phone rules of sends. */
  private target(
    channel: ApiChannel,
    params: Params,
    client: RegisteredClient,
    policy = true,
  ): Target {
    const field = TARGET_FIELD[channel];
    const value = required(params, field);
    if (value.length > 320) throw badRequest(`"${field}" parameter is too long`);
    try {
      switch (field) {
        case 'phone':
          return phoneTarget(this.phone(channel, value, client, policy));
        case 'email':
          return emailTarget(value, 'email');
        case 'chat_id':
          return telegramTarget(value, 'chat_id');
      }
    } catch (error) {
      if (error instanceof AppError) {
        const detail = error.extra.details?.[0]?.message;
        throw badRequest(detail ?? `"${field}" ${error.message}`);
      }
      throw error;
    }
  }

  private phone(
    channel: ApiChannel,
    value: string,
    client: RegisteredClient,
    policy: boolean,
  ): string {
    const digits = value.startsWith('+') ? value.slice(1) : value;
    if (!/^\d{6,15}$/.test(digits)) {
      throw badRequest('"phone" must be digits, the country code first (e.g. 77011234567)');
    }
    const { countryCode, nationalNumber } = splitE164(`+${digits}`);
    if (!countryCode) throw badRequest('"phone" is not a valid phone number');
    const rules: PhonePolicy = policy
      ? {
          ...this.phonePolicy,
          allowedCountryCodes: client.allowedCountryCodes ?? this.phonePolicy.allowedCountryCodes,
          blockedNumberTypes:
            channel === 'call'
              ? [...this.phonePolicy.blockedNumberTypes, ...NEVER_CALLED_TYPES]
              : this.phonePolicy.blockedNumberTypes,
        }
      : { blockedNumberTypes: [] };
    try {
      return normalizePhone(countryCode, nationalNumber, rules).e164;
    } catch (error) {
      if (error instanceof AppError && error.code !== ErrorCode.ValidationFailed) {
        throw badRequest(`"phone" is not accepted: ${error.message}`);
      }
      throw error;
    }
  }

  private checkPassword(channel: ApiChannel, password: string): void {
    if (!PASSWORD.test(password)) {
      throw badRequest('"password" must be 1 to 64 printable characters without spaces');
    }
    if (channel === 'call' && !CALL_PASSWORD.test(password)) {
      throw badRequest('"password" of a call must be 1 to 12 digits (the call reads it out)');
    }
  }

  private lifetime(params: Params): number {
    const value = text(params, 'lifetime');
    if (value === undefined) return DEFAULT_LIFETIME;
    const seconds = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
    if (!(seconds >= 1 && seconds <= MAX_LIFETIME)) {
      throw badRequest(`"lifetime" must be an integer from 1 to ${MAX_LIFETIME} (seconds)`);
    }
    return seconds;
  }

  /** `ip` canonical (the limits key on text: one address, one key), or null when absent. */
  private ip(params: Params): LimitedIp | null {
    const value = text(params, 'ip');
    if (value === undefined) return null;
    const ip = value.length > 64 ? null : limitedIp(value);
    if (!ip) throw badRequest('"ip" must be an IPv4 or IPv6 address');
    return ip;
  }

  /**
   * The message: the caller's (`message`, or an email's `subject`, `text`, `html`) with
   * `{code}` replaced, each containing the password or the placeholder; else the standard text.
   */
  private content(
    client: RegisteredClient,
    channel: ApiChannel,
    params: Params,
    password: string,
    lifetime: number,
  ): { body: string; subject?: string; html?: string } {
    const standard = messageContent(ENGINE_CHANNEL[channel], {
      code: password,
      ttlSeconds: lifetime,
      appName: client.name.slice(0, 30),
      template: channel === 'call' ? undefined : (client.messageTemplate ?? undefined),
    });
    const substituted = (value: string) => value.split(PLACEHOLDER).join(password);
    // The limits hold for the text as sent: a 64-character password in each `{code}` of a short
    // text would otherwise send many times the maximum.
    const own = (field: string, max: number): string | undefined => {
      const value = text(params, field);
      if (value === undefined) return undefined;
      if (value.length > max) throw badRequest(`"${field}" must be at most ${max} characters`);
      if (CONTROL_CHARS.test(value)) throw badRequest(`"${field}" has control characters`);
      if (!value.includes(PLACEHOLDER) && !value.includes(password)) {
        throw badRequest(`"${field}" must contain the password or the placeholder {code}`);
      }
      const sent = substituted(value);
      if (sent.length > max) throw badRequest(`"${field}" must be at most ${max} characters`);
      return sent;
    };
    if (channel === 'email') {
      let subject = text(params, 'subject');
      if (subject !== undefined) {
        const refused = badRequest(`"subject" must be at most ${MAX_SUBJECT} characters, one line`);
        if (subject.length > MAX_SUBJECT || SUBJECT_BREAKS.test(subject)) throw refused;
        subject = substituted(subject);
        if (subject.length > MAX_SUBJECT) throw refused;
      }
      const body = own('text', MAX_EMAIL_PART);
      const html = own('html', MAX_EMAIL_PART);
      return {
        body: body ?? (html ? htmlToText(html) : standard.body),
        subject: subject ?? standard.subject,
        html,
      };
    }
    if (channel === 'call') return { body: standard.body };
    return { body: own('message', MAX_MESSAGE) ?? standard.body };
  }
}

/** An email's text part from its HTML: tags dropped, entities of the basic five read. */
function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/p>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

/** POST /limit's lists: [{minutes, rate}], integers. */
function rates(value: unknown, field: string): OtpApiRate[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`"${field}" must be a list of {minutes, rate}`);
  if (value.length > MAX_LIMITS)
    throw badRequest(`"${field}" may list at most ${MAX_LIMITS} limits`);
  return value.map((entry: unknown) => {
    const { minutes, rate, ...rest } = (entry ?? {}) as Record<string, unknown>;
    if (
      typeof entry !== 'object' ||
      entry === null ||
      Array.isArray(entry) ||
      Object.keys(rest).length > 0 ||
      !Number.isInteger(minutes) ||
      !Number.isInteger(rate) ||
      (minutes as number) < 1 ||
      (minutes as number) > MAX_LIMIT_MINUTES ||
      (rate as number) < 1 ||
      (rate as number) > MAX_LIMIT_RATE
    ) {
      throw badRequest(
        `"${field}" entries must be {minutes: 1-${MAX_LIMIT_MINUTES}, rate: 1-${MAX_LIMIT_RATE}}, integers`,
      );
    }
    return { minutes: minutes as number, rate: rate as number };
  });
}

function resultOf(error: unknown): string {
  if (error instanceof OtpApiError) {
    return typeof error.body.status_code === 'string' ? error.body.status_code : 'invalid';
  }
  return error instanceof AppError && error.code === ErrorCode.RateLimited
    ? 'rate_limited'
    : 'error';
}
