import { randomInt } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { http, HttpResult } from './http';
import type { TestApp } from './test-app';

export interface SentMessage {
  channel: string;
  to: string;
  body: string;
  code: string;
  authCode: string;
  at: string;
}

/** Every message the file notify driver wrote, oldest first. */
export function sentMessages(file: string): SentMessage[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as SentMessage);
}

/** The newest code sent to `e164`. */
export function lastCodeFor(file: string, e164: string): SentMessage {
  const message = sentMessages(file)
    .filter((m) => m.to === e164)
    .pop();
  if (!message) throw new Error(`no message was sent to ${e164}`);
  return message;
}

/** Calls of the frontend API as a partner's app makes them. */
export class OtpClient {
  constructor(
    private readonly t: TestApp,
    private readonly token: string,
  ) {}

  private headers(): Record<string, string> {
    return { 'user-jwt-token': this.token };
  }

  register(phone_number: string, countryCode = '+91'): Promise<HttpResult> {
    return http(this.t.url, 'POST', '/fe/users/auth/otp/register', {
      headers: this.headers(),
      body: { phone_number, countryCode },
    });
  }

  resend(
    phone_number: string,
    countryCode = '+91',
    extra: Record<string, unknown> = {},
  ): Promise<HttpResult> {
    return http(this.t.url, 'POST', '/fe/users/auth/otp/resend', {
      headers: this.headers(),
      body: { phone_number, countryCode, ...extra },
    });
  }

  verify(
    phone_number: string,
    authCode: string | number,
    otp: string | number,
    countryCode = '+91',
  ): Promise<HttpResult> {
    return http(this.t.url, 'POST', '/fe/users/auth/otp/verify', {
      headers: this.headers(),
      body: { phone_number, countryCode, authCode, otp },
    });
  }

  linkedMobileNumber(): Promise<HttpResult> {
    return http(this.t.url, 'GET', '/fe/users/account/linked-mobile-number', {
      headers: this.headers(),
    });
  }

  unlink(): Promise<HttpResult> {
    return http(this.t.url, 'DELETE', '/fe/users/account/linked-mobile-number', {
      headers: this.headers(),
    });
  }
}

/** A wrong code guaranteed to differ from `code` (same length). */
export function wrongCode(code: string): string {
  const first = code[0] === '9' ? '0' : String(Number(code[0]) + 1);
  return first + code.slice(1);
}

/**
 * A distinct valid Indian mobile number per call (9 and nine random digits), spread over number
 * blocks so the per-prefix velocity limit does not join unrelated tests.
 */
export function uniquePhone(): { national: string; e164: string } {
  const national = `9${randomInt(100_000_000, 1_000_000_000)}`;
  return { national, e164: `+91${national}` };
}
