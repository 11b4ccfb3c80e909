import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig, OtpConfig } from '@app/config';
import { AppError, Channel, Clock, ErrorCode, phoneRegion, Target } from '@app/common';
import { jsonArgs, Sql, sqlFunctionCall } from '@app/database';
import { CodeGenerator } from './code-generator';
import { CodeHasher } from './code-hasher';
import { blockOf, type LimitScope } from './otp-engine';
import type { OtpApiRate } from './entities/otp-api-limit.entity';

/** Near a shared budget's end, creates count it exactly (as otp_issue does). */
const BUDGET_LOCK_MARGIN = 200;

/** A password about to be committed (otp_api_issue), with what its message needs. */
export interface ApiPasswordDraft {
  id: string;
  clientId: string;
  channel: Channel;
  target: Target;
  password: string;
  codeHash: Buffer;
  ip: string | null;
  now: Date;
  expiresAt: Date;
}

/** otp_api_issue's one jsonb argument (OtpApiCodes.issueArgs builds it). */
export type OtpApiIssueArgs = Record<string, unknown>;

/** otp_api_issue's answer. */
export type OtpApiIssueRow =
  | { outcome: 'issued' }
  | { outcome: 'password_taken' }
  | { outcome: 'ip_limit' | 'target_limit'; minutes: number; rate: number }
  | { outcome: 'limited'; scope: LimitScope; sends: number; retry_after: number };

/** A client's own limits of one channel (POST /limit/{channel}). */
export interface ApiLimits {
  ips: OtpApiRate[];
  targets: OtpApiRate[];
}

const TARGET_NOUNS: Record<Target['kind'], string> = {
  phone: 'phone',
  email: 'email address',
  telegram: 'chat',
};
const SCOPE_NOUNS: Partial<Record<LimitScope, string>> = {
  calls: 'phone by voice call',
  block: 'number range',
  client: 'app',
  service: 'service',
  region: 'country',
  block_conversion: 'number range',
};

const CHECK = sqlFunctionCall<
  { args: object },
  { outcome: 'none' | 'capped' | 'matched' | 'wrong' }
>('otp_api_check', { args: 'jsonb' });
const FIND_TARGET = sqlFunctionCall<
  { args: object },
  { outcome: 'found' | 'not_found' | 'ip_limit'; target: string | null }
>('otp_api_find_target', { args: 'jsonb' });

/**
 * The OTP API's passwords (OTP-API.md): partner backends create them for a target (several live
 * at once, each with its own lifetime), check them and find a target by one. Only keyed hashes
 * are kept: HMAC-SHA256(OTP_SECRET, ["api", client, channel]:password), the same for every
 * target, so GET /target can find a password's target. The rules are the database's
 * (otp_api_issue, otp_api_check, otp_api_find_target): exact across instances.
 */
@Injectable()
export class OtpApiCodes {
  private readonly otp: OtpConfig;
  private readonly hasher: CodeHasher;

  constructor(
    private readonly sql: Sql,
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly codes: CodeGenerator,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.otp = config.otp;
    this.hasher = new CodeHasher(config.otp.secret);
  }

  /** OTP_LENGTH digits. */
  newPassword(length = this.otp.length): string {
    return this.codes.code(length);
  }

  draft(input: {
    clientId: string;
    channel: Channel;
    target: Target;
    password: string;
    lifetimeSeconds: number;
    ip?: string;
  }): ApiPasswordDraft {
    const now = this.clock.now();
    return {
      id: randomUUID(),
      clientId: input.clientId,
      channel: input.channel,
      target: input.target,
      password: input.password,
      codeHash: this.hash(input.clientId, input.channel, input.password),
      ip: input.ip ?? null,
      now,
      expiresAt: new Date(now.getTime() + input.lifetimeSeconds * 1000),
    };
  }

  /** otp_api_issue's argument; `uniquePassword`: refuse a password live for another target. */
  issueArgs(
    draft: ApiPasswordDraft,
    limits: { hourlySendBudget?: number | null; uniquePassword?: boolean },
  ): OtpApiIssueArgs {
    return jsonArgs({
      id: draft.id,
      clientId: draft.clientId,
      channel: draft.channel,
      target: draft.target.value,
      block: blockOf(draft.target),
      region: draft.target.kind === 'phone' ? phoneRegion(draft.target.value) : null,
      ip: draft.ip,
      now: draft.now,
      expiresAt: draft.expiresAt,
      codeHash: draft.codeHash,
      uniquePassword: limits.uniquePassword ?? false,
      maxPerTarget: this.otp.maxSendsPerPhonePerHour,
      maxCallsPerTarget: this.otp.maxCallsPerPhonePerHour,
      maxPerBlock: this.otp.maxSendsPerPrefixPerHour,
      maxPerService: this.otp.maxSendsPerHour,
      clientBudget: limits.hourlySendBudget ?? this.otp.maxSendsPerClientPerHour,
      budgetMargin: BUDGET_LOCK_MARGIN,
      pumpingMinSends: this.otp.pumpingMinSends,
      pumpingMinConversion: this.otp.pumpingMinConversion,
    });
  }

  /** The service's refusal of a create (429 RATE_LIMITED), as the engine words its limits. */
  limited(target: Target, row: Extract<OtpApiIssueRow, { outcome: 'limited' }>): AppError {
    const noun = row.scope === 'target' ? TARGET_NOUNS[target.kind] : SCOPE_NOUNS[row.scope];
    const paused = row.scope === 'region' || row.scope === 'block_conversion';
    return new AppError(
      ErrorCode.RateLimited,
      { retryAfter: row.retry_after },
      paused
        ? `codes to this ${noun ?? 'target'} are paused; try again later`
        : `too many codes sent to this ${noun ?? 'target'}; try again later`,
    );
  }

  /**
   * Whether `password` is a live password of the target: false too once the target's wrong
   * checks reached OTP_MAX_ATTEMPTS, until a new password is created.
   */
  async check(
    clientId: string,
    channel: Channel,
    target: Target,
    password: string,
  ): Promise<'none' | 'capped' | 'matched' | 'wrong'> {
    const row = await this.sql.call(CHECK, {
      args: jsonArgs({
        clientId,
        channel,
        target: target.value,
        codeHash: this.hash(clientId, channel, password),
        now: this.clock.now(),
        maxAttempts: this.otp.maxAttempts,
        region: target.kind === 'phone' ? phoneRegion(target.value) : null,
        block: blockOf(target),
      }),
    });
    return row.outcome;
  }

  /** The target of a live password of (client, channel); a wrong guess counts for `ip`. */
  async findTarget(
    clientId: string,
    channel: Channel,
    password: string,
    ip: string | null,
  ): Promise<{ outcome: 'found' | 'not_found' | 'ip_limit'; target: string | null }> {
    return this.sql.call(FIND_TARGET, {
      args: jsonArgs({
        clientId,
        channel,
        codeHash: this.hash(clientId, channel, password),
        ip,
        now: this.clock.now(),
      }),
    });
  }

  async limits(clientId: string, channel: Channel): Promise<ApiLimits> {
    const [row] = await this.dataSource.query<ApiLimits[]>(
      `SELECT ips, targets FROM otp_api_limits WHERE client_id = $1 AND channel = $2`,
      [clientId, channel],
    );
    return row ?? { ips: [], targets: [] };
  }

  /** Replaces the client's limits of the channel. */
  async setLimits(clientId: string, channel: Channel, limits: ApiLimits): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO otp_api_limits (client_id, channel, ips, targets, updated_at)
       VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)
       ON CONFLICT ON CONSTRAINT pk_otp_api_limits
       DO UPDATE SET ips = EXCLUDED.ips, targets = EXCLUDED.targets, updated_at = EXCLUDED.updated_at`,
      [
        clientId,
        channel,
        JSON.stringify(limits.ips),
        JSON.stringify(limits.targets),
        this.clock.now(),
      ],
    );
  }

  private hash(clientId: string, channel: Channel, password: string): Buffer {
    return this.hasher.hash(JSON.stringify(['api', clientId, channel]), password);
  }
}
