import { http, HttpResult } from './http';
import { lastCodeFor, uniquePhone } from './otp-client';
import type { TestApp } from './test-app';

/* eslint-disable @typescript-eslint/no-explicit-any -- answers are checked by the tests */
export type Answer = HttpResult<Record<string, any>>;

export interface Tokens {
  auth_token: string;
  refresh_auth_token: string;
  device_token: string;
}

/** The app sign-in API (APP-AUTH.md), called the way an Okto-style app does. */
export class AppAuthClient {
  constructor(
    private readonly t: TestApp,
    readonly apiKey: string,
    private readonly extraHeaders: Record<string, string> = {},
  ) {}

  private headers(more: Record<string, string> = {}): Record<string, string> {
    return { 'x-api-key': this.apiKey, ...this.extraHeaders, ...more };
  }

  send(phone: string, country = 'IN', headers: Record<string, string> = {}): Promise<Answer> {
    return http(this.t.url, 'POST', '/api/v1/authenticate/phone', {
      headers: this.headers(headers),
      body: { phone_number: phone, country_short_name: country },
    });
  }

  verify(phone: string, otp: string, token: string, country = 'IN'): Promise<Answer> {
    return http(this.t.url, 'POST', '/api/v1/authenticate/phone/verify', {
      headers: this.headers(),
      body: { phone_number: phone, country_short_name: country, otp, token },
    });
  }

  refresh(tokens: Tokens, headers: Record<string, string> = {}): Promise<Answer> {
    return http(this.t.url, 'POST', '/api/v1/refresh_token', {
      headers: this.headers({
        authorization: `Bearer ${tokens.auth_token}`,
        'x-refresh-authorization': `Bearer ${tokens.refresh_auth_token}`,
        'x-device-token': tokens.device_token,
        ...headers,
      }),
    });
  }

  logout(authToken: string, headers: Record<string, string> = {}): Promise<Answer> {
    return http(this.t.url, 'POST', '/api/v1/logout', {
      headers: this.headers({ authorization: `Bearer ${authToken}`, ...headers }),
    });
  }

  user(authToken: string, url = this.t.url): Promise<Answer> {
    return http(url, 'GET', '/api/v1/user_from_token', {
      headers: this.headers({ authorization: `Bearer ${authToken}` }),
    });
  }

  /** The whole sign-in: a code to a fresh phone, read from the outbox file, verified. */
  async signIn(phone = uniquePhone()): Promise<Tokens & { phone: typeof phone }> {
    const sent = await this.send(phone.national);
    if (sent.status !== 200) throw new Error(`send answered ${sent.status}: ${sent.text}`);
    const { code } = lastCodeFor(this.t.messagesFile, phone.e164);
    const verified = await this.verify(phone.national, code, sent.body.data.token as string);
    if (verified.status !== 200) {
      throw new Error(`verify answered ${verified.status}: ${verified.text}`);
    }
    return { ...(verified.body.data as Tokens), phone };
  }
}
