import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import {
  AppError,
  Channel,
  Clock,
  emailTarget,
  ErrorCode,
  MetricsService,
  normalizePhone,
  PartnerUserRef,
  phoneTarget,
  splitE164,
  Target,
} from '@app/common';
import { AuditService } from '@app/audit';
import { CodeDraft, IssueRequest, OtpEngine } from '@app/otp';
import {
  localeFromAcceptLanguage,
  messageContent,
  Notifiers,
  OutboxService,
  QueuedMessage,
} from '@app/notifications';
import { newOpaqueToken, tokenHash, isOpaqueToken, WebSessions } from '@app/sessions';
import type { FlowModule } from './flow-definitions';
import { FlowRepository, FlowRow } from './flow.repository';
import type { Realm } from './realms';

/** The contract's messages (FLOWS.md), fixed. */
export const FLOW_MESSAGES = {
  sendError: 'Error sending OTP',
  invalid: 'Invalid OTP',
  retriesExceeded: 'OTP retries exceeded',
  expired: 'OTP expired',
  tooSoon: 'Sending not allowed yet',
} as const;

/** The phone module's validation: digits, country code first. */
export const PHONE_VALIDATION = '^\\d{5,16}$';
const PHONE = /^\d{5,16}$/;
/** The email module's validation (the address is checked in full before a code is sent). */
export const EMAIL_VALIDATION = '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$';
const OTP_ACTIONS = ['check', 'send'] as const;
/** A code's challenge may change while it is committed (a resend, a verify); this bounds that. */
const ISSUE_ROUNDS = 6;
/** A check re-reads the challenge when a concurrent request changed it; this bounds that. */
const CHECK_ROUNDS = 3;
/** Refusals worth an operator's look: the limits (the others are the user's typing). */
const LIMIT_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.RateLimited,
  ErrorCode.ResendTooSoon,
]);

/** An answer of the flow API: its status and body, and a session to set as the cookie. */
export interface FlowAnswer {
  status: number;
  body: Record<string, unknown>;
  /** Set on a sign-in: the new session's id (the cookie's value). */
  sessionId?: string;
}

/** A request body the API understands; anything else is a bad request. */
interface FlowBody {
  flowId?: string;
  module?: string;
  credentials: Record<string, { value?: string }>;
}

/** Where the request came from. */
export interface FlowRequestContext {
  ip: string;
  acceptLanguage?: string | string[];
}

interface FlowState {
  flowId: string;
  hash: Buffer;
  realm: Realm;
  row: FlowRow;
  modules: FlowModule[];
  ctx: FlowRequestContext;
}

export const FLOW_NOT_FOUND: FlowAnswer = { status: 400, body: { error: 'flow not found' } };
export const BAD_REQUEST: FlowAnswer = { status: 400, body: { error: 'bad request' } };

/**
 * The sign-in flows of websites (FLOWS.md): a flow walks through its modules (a phone number or
 * an email address, then its code) and ends with a web session. Its state is a database row, so
 * any instance continues any flow; its id is 256 random bits, stored only as a hash. Codes go
 * through the engine (OtpEngine: hashed codes, limits, cooldown, attempts) and the outbox, each
 * step one transaction (sql/) with its audit events; the session is one of the session store's.
 */
@Injectable()
export class SignInFlows {
  private readonly ttlMs: number;

  constructor(
    private readonly flows: FlowRepository,
    private readonly engine: OtpEngine,
    private readonly outbox: OutboxService,
    private readonly notifiers: Notifiers,
    private readonly audit: AuditService,
    private readonly sessions: WebSessions,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.ttlMs = config.flows.ttlSeconds * 1000;
  }

  /** A new flow at its first module. */
  async start(realm: Realm, flow: string, modules: readonly FlowModule[]): Promise<FlowAnswer> {
    const flowId = newOpaqueToken();
    const now = this.clock.now();
    await this.flows.create(
      tokenHash(flowId),
      realm.id,
      flow,
      modules,
      now,
      new Date(now.getTime() + this.ttlMs),
    );
    return moduleAnswer(flowId, modules[0], this.otpProperties(0));
  }

  /** A POST: starts a flow (no flowId) or answers the module the flow is at. */
  async post(
    realm: Realm,
    flow: string,
    modules: readonly FlowModule[],
    raw: unknown,
    ctx: FlowRequestContext,
  ): Promise<FlowAnswer> {
    const body = parseBody(raw);
    if (body === undefined) return BAD_REQUEST;
    if (body.flowId === undefined) return this.start(realm, flow, modules);
    if (!isOpaqueToken(body.flowId)) return FLOW_NOT_FOUND;
    const hash = tokenHash(body.flowId);
    const row = await this.flows.find(hash, this.clock.now());
    if (!row || row.realm !== realm.id || row.flow !== flow) return FLOW_NOT_FOUND;
    const state: FlowState = {
      flowId: body.flowId,
      hash,
      realm,
      row,
      modules: row.modules.split(',') as FlowModule[],
      ctx,
    };
    const module = state.modules[row.position];
    if (body.module !== undefined && body.module !== module) {
      // Another module's answer (a stale page): the module the flow is at, again.
      return this.current(state);
    }
    if (module === 'otp') return this.otp(state, body);
    return this.target(state, module, body);
  }

  /**
   * A concurrent request of the same flow moved it on (a double submit) or ended it: the module
   * it is at now, or `flow not found`.
   */
  private async raced(state: FlowState): Promise<FlowAnswer> {
    const row = await this.flows.find(state.hash, this.clock.now());
    return row ? this.current({ ...state, row }) : FLOW_NOT_FOUND;
  }

  /** The module the flow is at, as it was last asked for. */
  private async current(state: FlowState): Promise<FlowAnswer> {
    const module = state.modules[state.row.position];
    if (module !== 'otp') return moduleAnswer(state.flowId, module);
    return moduleAnswer(state.flowId, 'otp', this.otpProperties(await this.attemptsLeft(state)));
  }

  /** The phone or email module: the target checked, then its code sent. */
  private async target(state: FlowState, module: 'phone' | 'email', body: FlowBody) {
    const value = body.credentials[module]?.value;
    const channel: Channel = module === 'phone' ? 'sms' : 'email';
    let target: Target;
    try {
      if (value === undefined) throw new AppError(ErrorCode.ValidationFailed);
      target = module === 'phone' ? this.phoneOf(state.realm, value) : emailTarget(value);
      if (!this.notifiers.channels.includes(channel)) {
        throw new AppError(ErrorCode.ChannelNotAvailable);
      }
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      await this.refused(state, undefined, error);
      return moduleAnswer(state.flowId, module, undefined, FLOW_MESSAGES.sendError);
    }
    return this.send(state, target, channel, 1);
  }

  /** The otp module: `check` (the default) or `send`. */
  private async otp(state: FlowState, body: FlowBody): Promise<FlowAnswer> {
    const action = body.credentials.action?.value ?? 'check';
    if (!(OTP_ACTIONS as readonly string[]).includes(action)) return BAD_REQUEST;
    const { row } = state;
    if (row.target === null || row.target_kind === null || row.auth_code === null) {
      return FLOW_NOT_FOUND; // cannot happen: an otp module follows a sent code
    }
    const target: Target = { kind: row.target_kind, value: row.target };
    if (action === 'send') {
      const channel: Channel = target.kind === 'phone' ? 'sms' : 'email';
      return this.send(state, target, channel, 0);
    }
    const code = body.credentials.otp?.value;
    if (code === undefined) {
      return this.otpAnswer(state, await this.attemptsLeft(state), FLOW_MESSAGES.invalid);
    }
    return this.check(state, target, row.auth_code, code);
  }

  /**
   * Draft → commit, as the phone link does: the engine makes a code, its message is made from
   * it, and both are committed with the flow's step in one transaction; then the first delivery
   * attempt. `advance`: 1 from a phone or email module, 0 for a resend.
   */
  private async send(
    state: FlowState,
    target: Target,
    channel: Channel,
    advance: 0 | 1,
  ): Promise<FlowAnswer> {
    const owner = this.ownerOf(state);
    const request: IssueRequest = {
      owner,
      target,
      channel,
      limits: { hourlySendBudget: state.realm.client?.hourlySendBudget },
    };
    const audited = { ...this.audit.audited(target), ip: state.ctx.ip.slice(0, 64), ...owner };
    const module = state.modules[state.row.position];
    try {
      let draft = this.engine.draft();
      for (let round = 0; round < ISSUE_ROUNDS; round++) {
        const message = this.message(state, request, draft);
        const row = await this.flows.requestCode({
          ...audited,
          flowHash: state.hash,
          position: state.row.position,
          advance,
          now: draft.now,
          target: target.value,
          targetKind: target.kind,
          issue: this.engine.issueArgs(request, draft),
          message: this.outbox.prepare(message),
        });
        if (row.outcome === 'flow_gone') return this.raced(state);
        const step = this.engine.afterIssue(request, draft, row);
        if ('retry' in step) {
          draft = step.retry;
          continue;
        }
        if (row.outcome !== 'issued') continue;
        const outcome = await this.outbox.deliverNow(row.message_id, message);
        if (outcome.status === 'failed') {
          if (advance) await this.flows.stepBack(state.hash, state.row.position);
          await this.refused(state, target, new AppError(ErrorCode.PhoneUndeliverable));
          return advance
            ? moduleAnswer(state.flowId, module, undefined, FLOW_MESSAGES.sendError)
            : this.otpAnswer(state, step.issued.attemptsLeft, FLOW_MESSAGES.sendError);
        }
        return this.otpAnswer(state, step.issued.attemptsLeft);
      }
      throw new Error('the challenge kept changing while a code was issued');
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      await this.refused(state, target, error);
      if (advance) return moduleAnswer(state.flowId, module, undefined, FLOW_MESSAGES.sendError);
      return this.otpAnswer(state, await this.attemptsLeft(state), FLOW_MESSAGES.tooSoon);
    }
  }

  /**
   * A submitted code: the engine's refusals in its order (locked, expired, the target's cap on
   * wrong codes), then the code. A wrong one is counted (the last allowed one ends the flow);
   * the right one moves the flow on, or at its last module signs in.
   */
  private async check(
    state: FlowState,
    target: Target,
    authCode: string,
    code: string,
  ): Promise<FlowAnswer> {
    const owner = this.ownerOf(state);
    const audited = { ...this.audit.audited(target), ip: state.ctx.ip.slice(0, 64), ...owner };
    for (let round = 0; round < CHECK_ROUNDS; round++) {
      const found = await this.flows.findChallenge(this.engine.findArgs(owner, target, authCode));
      let checked: ReturnType<OtpEngine['check']>;
      try {
        checked = this.engine.check(found, target, code);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return this.refusedCode(
          state,
          error,
          found.challenge_id === null ? 0 : found.attempts_left,
        );
      }
      if (!/^\d+$/.test(code) || code.length !== this.engine.policy.codeLength) {
        // Not a code at all: nothing to count, the same answer.
        return this.otpAnswer(
          state,
          found.challenge_id === null ? 0 : found.attempts_left,
          FLOW_MESSAGES.invalid,
        );
      }
      if (!checked.matched) {
        const wrong = await this.flows.countWrongCode({
          ...audited,
          flowHash: state.hash,
          count: this.engine.wrongCodeArgs(checked.challenge),
        });
        try {
          this.engine.afterWrongCode(wrong);
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          return this.refusedCode(state, error, 0);
        }
        continue; // the challenge changed meanwhile: read it again
      }
      const last = state.row.position + 1 >= state.modules.length;
      const now = this.clock.now();
      const session = last
        ? this.sessions.startDraft({ clientId: state.realm.client ? state.realm.id : null, now })
        : undefined;
      const done = await this.flows.codeVerified({
        ...audited,
        flowHash: state.hash,
        position: state.row.position,
        now,
        mark: this.engine.markArgs(checked.challenge),
        targetKind: target.kind,
        target: target.value,
        session: session?.args ?? null,
      });
      if (done.outcome === 'flow_gone') return this.raced(state);
      if (done.outcome === 'changed') continue;
      if (done.outcome === 'advanced') {
        const next = state.modules[state.row.position + 1];
        return moduleAnswer(state.flowId, next);
      }
      this.metrics.verifications.inc({ result: 'signed_in' });
      return {
        status: 200,
        body: { sessionId: session?.sessionId },
        sessionId: session?.sessionId,
      };
    }
    throw new Error('a code check did not settle after concurrent changes');
  }

  /** A refusal of the engine's as the otp module's message; retries exceeded end the flow. */
  private async refusedCode(
    state: FlowState,
    error: AppError,
    attemptsLeft: number,
  ): Promise<FlowAnswer> {
    switch (error.code) {
      case ErrorCode.InvalidOtp: {
        const left = error.extra.attemptsLeft ?? 0;
        this.metrics.verifications.inc({ result: left === 0 ? 'locked' : 'invalid_otp' });
        if (left === 0) return this.otpAnswer(state, 0, FLOW_MESSAGES.retriesExceeded);
        return this.otpAnswer(state, left, FLOW_MESSAGES.invalid);
      }
      case ErrorCode.OtpExpired:
      case ErrorCode.OtpNotFound:
        this.metrics.verifications.inc({ result: 'expired' });
        return this.otpAnswer(state, attemptsLeft, FLOW_MESSAGES.expired);
      default:
        // Locked, or the target's cap on wrong codes: the flow can only be started again.
        this.metrics.verifications.inc({
          result: error.code === ErrorCode.RateLimited ? 'rate_limited' : 'locked',
        });
        await this.refused(state, undefined, error);
        await this.flows.end(state.hash);
        return this.otpAnswer(state, 0, FLOW_MESSAGES.retriesExceeded);
    }
  }

  private otpAnswer(state: FlowState, attemptsLeft: number, message?: string): FlowAnswer {
    return moduleAnswer(state.flowId, 'otp', this.otpProperties(attemptsLeft), message);
  }

  private otpProperties(retries: number): OtpProperties {
    return {
      timeoutSec: this.engine.policy.ttlSeconds,
      resendAfterSec: this.engine.policy.resendCooldownSeconds,
      retries,
    };
  }

  /** The attempts left on the flow's current code (0 when it has none). */
  private async attemptsLeft(state: FlowState): Promise<number> {
    const { row } = state;
    if (row.target === null || row.target_kind === null || row.auth_code === null) return 0;
    const found = await this.flows.findChallenge(
      this.engine.findArgs(
        this.ownerOf(state),
        { kind: row.target_kind, value: row.target },
        row.auth_code,
      ),
    );
    return found.challenge_id === null || found.state !== 'live' ? 0 : found.attempts_left;
  }

  /**
   * Whose codes a flow's are: its realm's client, and the flow itself (a hash of its hash: the
   * flow's id is never written anywhere in the clear).
   */
  private ownerOf(state: FlowState): PartnerUserRef {
    return {
      clientId: state.realm.ownerClientId,
      userId: `flow:${tokenHash(state.hash.toString('hex')).subarray(0, 16).toString('hex')}`,
    };
  }

  /** Digits, country code first, through the checks of the realm (countries, validity, types). */
  private phoneOf(realm: Realm, digits: string): Target {
    if (!PHONE.test(digits)) throw new AppError(ErrorCode.InvalidPhone);
    const { countryCode, nationalNumber } = splitE164(`+${digits}`);
    if (!countryCode) throw new AppError(ErrorCode.InvalidPhone);
    const e164 = normalizePhone(countryCode, nationalNumber, {
      allowedCountryCodes: realm.allowedCountryCodes,
      blockedNumberTypes: this.config.blockedNumberTypes,
      blockedPrefixes: this.config.blockedPrefixes,
    }).e164;
    return phoneTarget(e164);
  }

  private message(state: FlowState, request: IssueRequest, draft: CodeDraft): QueuedMessage {
    const client = state.realm.client;
    const content = messageContent(request.channel, {
      code: draft.code,
      ttlSeconds: this.engine.policy.ttlSeconds,
      appName: (client?.senderName ?? client?.name)?.slice(0, 30),
      template: client?.messageTemplate ?? undefined,
      locale: localeFromAcceptLanguage(state.ctx.acceptLanguage),
      webOtpDomain: this.config.notify.webOtpDomain,
    });
    return {
      channel: request.channel,
      to: request.target.value,
      body: content.body,
      subject: content.subject,
      locale: content.locale,
      code: draft.code,
      authCode: draft.authCode,
      expiresAt: draft.expiresAt,
      audit: { ...request.owner, challengeId: draft.challengeId, ip: state.ctx.ip },
    };
  }

  /**
   * Why a target got "Error sending OTP" or a code "Sending not allowed yet": in the audit
   * trail, not the answer. Limits are `rate_limited` events; the rest `sign_in_refused`.
   */
  private async refused(state: FlowState, target: Target | undefined, error: AppError) {
    const owner = this.ownerOf(state);
    await this.audit.record([
      {
        event: LIMIT_CODES.has(error.code) ? 'rate_limited' : 'sign_in_refused',
        ...owner,
        target,
        ip: state.ctx.ip,
        detail: `${error.code}: ${error.message}`,
      },
    ]);
  }
}

interface OtpProperties {
  timeoutSec: number;
  resendAfterSec: number;
  retries: number;
}

/** What a module asks for, in the contract's shapes (FLOWS.md). */
export function moduleAnswer(
  flowId: string,
  module: FlowModule,
  otp?: OtpProperties,
  message?: string,
): FlowAnswer {
  const withMessage = message === undefined ? {} : { message };
  let credentials: Record<string, unknown>;
  if (module === 'otp') {
    credentials = {
      otp: {
        type: 'text',
        required: true,
        ...withMessage,
        additionalProperties: otp,
      },
      action: {
        type: 'options',
        required: false,
        additionalProperties: { values: [...OTP_ACTIONS], default: 'check' },
      },
    };
  } else {
    credentials = {
      [module]: {
        type: 'text',
        validation: module === 'phone' ? PHONE_VALIDATION : EMAIL_VALIDATION,
        required: true,
        ...withMessage,
      },
    };
  }
  return { status: 200, body: { flowId, module, credentials } };
}

/**
 * A POST body as the API understands it: an object (or nothing), `flowId` and `module` strings,
 * `credentials` an object of objects whose `value` is a string. Undefined: a bad request.
 */
export function parseBody(raw: unknown): FlowBody | undefined {
  if (raw === undefined || raw === null) return { credentials: {} };
  if (!isObject(raw)) return undefined;
  const { flowId, module, credentials } = raw;
  if (flowId !== undefined && flowId !== null && typeof flowId !== 'string') return undefined;
  if (module !== undefined && typeof module !== 'string') return undefined;
  const parsed: FlowBody['credentials'] = Object.create(null) as FlowBody['credentials'];
  if (credentials !== undefined && credentials !== null) {
    if (!isObject(credentials)) return undefined;
    for (const [name, credential] of Object.entries(credentials)) {
      if (!isObject(credential)) return undefined;
      const { value } = credential;
      if (value !== undefined && typeof value !== 'string') return undefined;
      parsed[name] = value === undefined ? {} : { value };
    }
  }
  return {
    flowId: flowId ?? undefined,
    module,
    credentials: parsed,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
