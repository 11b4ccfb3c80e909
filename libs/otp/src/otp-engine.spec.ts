import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { jsonArgs } from '@app/database';
import { AppError, Channel, Clock, ErrorCode, phoneTarget, telegramTarget } from '@app/common';
import { loadConfig } from '@app/config';
import { CodeGenerator } from './code-generator';
import { CodeHasher } from './code-hasher';
import { CodeDraft, FoundChallengeRow, IssueRequest, OtpEngine } from './otp-engine';

const NOW = new Date('2026-12-04T10:00:00Z');
const SECRET = 'engine-spec-secret-0123456789abcdef';

class FixedClock extends Clock {
  now(): Date {
    return NOW;
  }
}

/** Codes in a known order, so a spec can name them. */
class SequenceCodes extends CodeGenerator {
  private codes = 0;
  private authCodes = 0;
  code(length: number): string {
    return String(++this.codes).padStart(length, '0');
  }
  authCode(): string {
    return String(10_000_000 + ++this.authCodes);
  }
}

const config = loadConfig({ OTP_SECRET: SECRET, OTP_LENGTH: '6', OTP_MAX_ATTEMPTS: '5' });
const engine = () => new OtpEngine(new FixedClock(), new SequenceCodes(), config);
const hasher = new CodeHasher(SECRET);
const request: IssueRequest = {
  owner: { clientId: 'ludo', userId: 'asha' },
  target: phoneTarget('+919876543219'),
  channel: 'sms',
  limits: { hourlySendBudget: 500 },
};

function refusal(work: () => unknown): AppError {
  try {
    work();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('OtpEngine', () => {
  it('drafts a code hashed for its new challenge, expiring after the lifetime', () => {
    const draft = engine().draft();
    expect(draft).toMatchObject({ liveId: null, code: '000001', authCode: '10000001', now: NOW });
    expect(draft.expiresAt.getTime() - NOW.getTime()).toBe(config.otp.ttlSeconds * 1000);
    expect(hasher.matches(draft.codeHash, draft.challengeId, '000001')).toBe(true);
  });

  it("gives otp_issue the draft, the target's number block and every limit by name", () => {
    const otp = engine();
    const draft = otp.draft();
    expect(otp.issueArgs(request, draft)).toEqual({
      clientId: 'ludo',
      userId: 'asha',
      target: '+919876543219',
      targetKind: 'phone',
      block: '+91987654',
      channel: 'sms',
      now: NOW,
      expiresAt: draft.expiresAt,
      challengeId: draft.challengeId,
      liveId: null,
      authCode: draft.authCode,
      codeHash: draft.codeHash,
      cooldownSeconds: config.otp.resendCooldownSeconds,
      maxAttempts: 5,
      maxPerTarget: config.otp.maxSendsPerPhonePerHour,
      maxCallsPerTarget: config.otp.maxCallsPerPhonePerHour,
      callFallback: false,
      maxPerOwner: config.otp.maxSendsPerUserPerHour,
      maxPerBlock: config.otp.maxSendsPerPrefixPerHour,
      maxPerService: config.otp.maxSendsPerHour,
      clientBudget: 500,
      budgetMargin: expect.any(Number) as number,
      region: 'IN',
      pumpingMinSends: config.otp.pumpingMinSends,
      pumpingMinConversion: config.otp.pumpingMinConversion,
    });
    // A client without a budget of its own gets the default one.
    expect(otp.issueArgs({ ...request, limits: {} }, draft).clientBudget).toBe(
      config.otp.maxSendsPerClientPerHour,
    );
    // A chain with a call asks otp_issue whether the call cap leaves room; a call first does not.
    const withCall = { ...request, fallbacks: ['whatsapp', 'voice'] as Channel[] };
    expect(otp.issueArgs(withCall, draft).callFallback).toBe(true);
    expect(otp.issueArgs({ ...withCall, channel: 'voice' }, draft).callFallback).toBe(false);
    // Only phones have number blocks.
    const chat = { ...request, target: telegramTarget('123456789'), channel: 'telegram' as const };
    expect(otp.issueArgs(chat, draft)).toMatchObject({ block: null, region: null });
  });

  describe('afterIssue', () => {
    it('tells what the database kept', () => {
      const otp = engine();
      const draft = otp.draft();
      const row = {
        outcome: 'issued' as const,
        challenge_id: draft.challengeId,
        auth_code: draft.authCode,
        attempts_left: 3,
        resend_after: 30,
      };
      expect(otp.afterIssue(request, draft, row)).toEqual({
        issued: {
          challengeId: draft.challengeId,
          authCode: draft.authCode,
          code: draft.code,
          expiresIn: config.otp.ttlSeconds,
          resendAfter: 30,
          attemptsLeft: 3,
        },
      });
    });

    it('re-hashes the same code for the live challenge the database named (a resend)', () => {
      const otp = engine();
      const draft = otp.draft();
      const live = '11111111-1111-4111-8111-111111111111';
      const step = otp.afterIssue(request, draft, {
        outcome: 'live_changed',
        challenge_id: live,
        auth_code: '23456789',
      });
      const retry = (step as { retry: CodeDraft }).retry;
      expect(retry).toMatchObject({ challengeId: live, liveId: live, authCode: '23456789' });
      expect(retry.code).toBe(draft.code);
      expect(hasher.matches(retry.codeHash, live, draft.code)).toBe(true);
    });

    it('starts a new challenge when the live one is gone, and a new authCode when one is taken', () => {
      const otp = engine();
      const draft = { ...otp.draft(), liveId: 'gone' };
      const fresh = (
        otp.afterIssue(request, draft, {
          outcome: 'live_changed',
          challenge_id: null,
          auth_code: null,
        }) as { retry: CodeDraft }
      ).retry;
      expect(fresh.liveId).toBeNull();
      expect(fresh.challengeId).not.toBe(draft.challengeId);
      expect(hasher.matches(fresh.codeHash, fresh.challengeId, draft.code)).toBe(true);
      const again = (
        otp.afterIssue(request, fresh, { outcome: 'auth_code_taken' }) as {
          retry: CodeDraft;
        }
      ).retry;
      expect(again).toMatchObject({ challengeId: fresh.challengeId, code: draft.code });
      expect(again.authCode).not.toBe(fresh.authCode);
    });

    it('refuses within the cooldown and past a limit, naming the limit', () => {
      // Operators alert on the shared budgets' lines.
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const otp = engine();
      const draft = otp.draft();
      const soon = refusal(() =>
        otp.afterIssue(request, draft, { outcome: 'too_soon', retry_after: 12 }),
      );
      expect(soon).toMatchObject({ code: ErrorCode.ResendTooSoon, extra: { retryAfter: 12 } });
      const limited = (scope: 'target' | 'owner' | 'block' | 'client' | 'service') =>
        refusal(() =>
          otp.afterIssue(request, draft, { outcome: 'limited', scope, sends: 5, retry_after: 60 }),
        );
      expect(limited('target')).toMatchObject({
        code: ErrorCode.RateLimited,
        message: 'too many codes sent to this phone; try again later',
        extra: { retryAfter: 60 },
      });
      expect(limited('owner').message).toContain('this user');
      expect(limited('block').message).toContain('this number range');
      expect(limited('client').message).toContain('this app');
      expect(limited('service').message).toContain('this service');
      expect(warn).toHaveBeenCalledWith(
        { alert: 'otp_client_send_budget_exhausted', clientId: 'ludo', sends: 5 },
        "a partner client's hourly send budget is exhausted",
      );
      expect(error).toHaveBeenCalledWith(
        { alert: 'otp_global_send_budget_exhausted', sends: 5, max: config.otp.maxSendsPerHour },
        'global OTP send budget exhausted',
      );
      expect(warn).toHaveBeenCalledTimes(1);
      expect(error).toHaveBeenCalledTimes(1);
      warn.mockRestore();
      error.mockRestore();
    });
  });

  describe('check', () => {
    const otp = engine();
    const target = request.target;
    const challengeId = '22222222-2222-4222-8222-222222222222';
    const found = (overrides: Partial<Extract<FoundChallengeRow, { challenge_id: string }>>) =>
      ({
        challenge_id: challengeId,
        state: 'live',
        attempts_left: 5,
        code_hash: hasher.hash(challengeId, '004321'),
        retry_after: null,
        ...overrides,
      }) as FoundChallengeRow;

    it('refuses in the order of the contract: not found, locked, expired, capped, then the code', () => {
      expect(refusal(() => otp.check({ challenge_id: null }, target, '004321')).code).toBe(
        ErrorCode.OtpNotFound,
      );
      // A locked challenge answers locked even to the right code, and before the target's cap.
      expect(
        refusal(() => otp.check(found({ state: 'locked', retry_after: 9 }), target, '004321')).code,
      ).toBe(ErrorCode.TooManyAttempts);
      expect(refusal(() => otp.check(found({ state: 'expired' }), target, '004321')).code).toBe(
        ErrorCode.OtpExpired,
      );
      // A code spent by an earlier verify (its link since removed) is spent like an expired one.
      expect(refusal(() => otp.check(found({ state: 'verified' }), target, '004321')).code).toBe(
        ErrorCode.OtpExpired,
      );
      expect(refusal(() => otp.check(found({ retry_after: 42 }), target, '004321'))).toMatchObject({
        code: ErrorCode.RateLimited,
        extra: { retryAfter: 42 },
      });
    });

    it('compares the code in constant time, padding a numeric one to the code length', () => {
      expect(otp.check(found({}), target, '004321').matched).toBe(true);
      expect(otp.check(found({}), target, 4321).matched).toBe(true);
      expect(otp.check(found({}), target, '4321').matched).toBe(false);
      expect(otp.check(found({}), target, '004322')).toMatchObject({
        matched: false,
        challenge: { challengeId, target, now: NOW, maxAttempts: 5 },
      });
    });
  });

  it('turns a counted wrong code into INVALID_OTP with the attempts left, the cap into RATE_LIMITED', () => {
    const otp = engine();
    expect(
      refusal(() => otp.afterWrongCode({ outcome: 'counted', attempts_left: 2 })),
    ).toMatchObject({ code: ErrorCode.InvalidOtp, extra: { attemptsLeft: 2 } });
    expect(
      refusal(() => otp.afterWrongCode({ outcome: 'locked', attempts_left: 0 })),
    ).toMatchObject({ code: ErrorCode.InvalidOtp, extra: { attemptsLeft: 0 } });
    expect(refusal(() => otp.afterWrongCode({ outcome: 'capped', retry_after: 7 }))).toMatchObject({
      code: ErrorCode.RateLimited,
      extra: { retryAfter: 7 },
    });
    // The challenge changed meanwhile: nothing to tell yet, the caller reads it again.
    expect(otp.afterWrongCode({ outcome: 'changed' })).toBeUndefined();
  });
});

/** The columns a primitive reads its one jsonb argument into (`jsonb_to_record(p_args) AS x(…)`). */
function jsonColumns(file: string): string[] {
  const text = readFileSync(join(__dirname, 'sql', file), 'utf8');
  const list = /jsonb_to_record\(p_args\)\s+AS\s+x\(([^;]*?)\);/.exec(text)?.[1] ?? '';
  return list
    .split(',')
    .map((column) => column.trim().split(/\s+/)[0])
    .sort();
}

describe('the engine and its SQL primitives agree on argument names', () => {
  // A key the function does not read is lost, and a column nobody sends is NULL: a limit
  // compared with NULL never refuses, so a renamed key would switch that limit off silently.
  const otp = engine();
  const challengeId = '33333333-3333-4333-8333-333333333333';
  const checked = otp.check(
    {
      challenge_id: challengeId,
      state: 'live',
      attempts_left: 5,
      code_hash: hasher.hash(challengeId, '004321'),
      retry_after: null,
    },
    request.target,
    '004321',
  ).challenge;
  const keys = (args: object) => Object.keys(jsonArgs(args)).sort();

  it.each([
    ['otp_issue.sql', () => otp.issueArgs(request, otp.draft())],
    ['otp_count_wrong_code.sql', () => otp.wrongCodeArgs(checked)],
    ['otp_mark_verified.sql', () => otp.markArgs(checked)],
  ])('%s reads exactly the keys the engine sends', (file, args) => {
    expect(jsonColumns(file).length).toBeGreaterThan(3);
    expect(keys(args())).toEqual(jsonColumns(file));
  });
});
