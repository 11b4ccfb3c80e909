import { errorFromResponse, OtpLinkError } from './errors';
import type { components, operations } from './schema';

type Schemas = components['schemas'];
export type RegisterRequest = Schemas['RegisterOtpDto'];
export type ResendRequest = Schemas['ResendOtpDto'];
export type VerifyRequest = Schemas['VerifyOtpDto'];
export type OtpSent = Schemas['OtpSentResponse'];
export type Verified = Schemas['VerifyResponse'];
export type LinkedNumber = Schemas['LinkedMobileNumberResponse'];
export type Unlinked = Schemas['UnlinkResponse'];
export type OtpConfig = Schemas['OtpConfigResponse'];
export type OtpConfigQuery = NonNullable<
  operations['OtpConfigController_config']['parameters']['query']
>;
export type Channel = NonNullable<RegisterRequest['channel']>;

/** The partner JWT (`user-jwt-token`), or a function that gives a fresh one per request. */
export type TokenProvider = string | (() => string | Promise<string>);

export interface OtpLinkClientOptions {
  /** The service's origin, e.g. `https://otp-link.example.com`; '' (default) = this page's origin. */
  baseUrl?: string;
  /** Needed by every call but `config()`. */
  token?: TokenProvider;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Sent with every request (e.g. `accept-language`). */
  headers?: Record<string, string>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface OtpLinkClient {
  /** `GET /fe/users/auth/otp/config`: what the form needs (no token). */
  config(query?: OtpConfigQuery, options?: CallOptions): Promise<OtpConfig>;
  /** `POST /fe/users/auth/otp/register`: sends a code; keep `authCode` for verify. */
  register(body: RegisterRequest, options?: CallOptions): Promise<OtpSent>;
  /** `POST /fe/users/auth/otp/resend`: a fresh code for the live challenge. */
  resend(body: ResendRequest, options?: CallOptions): Promise<OtpSent>;
  /** `POST /fe/users/auth/otp/verify`: links the user to the phone. */
  verify(body: VerifyRequest, options?: CallOptions): Promise<Verified>;
  /** `GET /fe/users/account/linked-mobile-number`: the caller's link; null when not linked. */
  linkedNumber(options?: CallOptions): Promise<LinkedNumber | null>;
  /** `DELETE /fe/users/account/linked-mobile-number`: removes the caller's link. */
  unlink(options?: CallOptions): Promise<Unlinked>;
}

/** A client of the /fe API. Every failure throws an OtpLinkError. */
export function createOtpLinkClient(options: OtpLinkClientOptions = {}): OtpLinkClient {
  const base = (options.baseUrl ?? '').replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  async function token(): Promise<string> {
    const given = options.token;
    const value = typeof given === 'function' ? await given() : given;
    if (!value) throw new OtpLinkError('UN_AUTHORIZED', 'no token: pass `token` to the client');
    return value;
  }

  async function call<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    init: { body?: unknown; authenticated: boolean; signal?: AbortSignal },
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (init.authenticated) headers['user-jwt-token'] = await token();
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
    } catch (error) {
      throw new OtpLinkError('NETWORK_ERROR', 'the service could not be reached', {
        cause: error,
      });
    }
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) throw errorFromResponse(response.status, response.headers, body);
    if (body === undefined || body === null || typeof body !== 'object') {
      throw new OtpLinkError(
        'BAD_RESPONSE',
        `the service answered ${response.status} without JSON`,
        {
          status: response.status,
          requestId: response.headers.get('x-request-id') ?? undefined,
        },
      );
    }
    return body as T;
  }

  const otp = '/fe/users/auth/otp';
  const account = '/fe/users/account/linked-mobile-number';
  return {
    config: (query, callOptions) => {
      const search = query?.clientId ? `?clientId=${encodeURIComponent(query.clientId)}` : '';
      return call('GET', `${otp}/config${search}`, {
        authenticated: false,
        signal: callOptions?.signal,
      });
    },
    register: (body, callOptions) =>
      call('POST', `${otp}/register`, { body, authenticated: true, signal: callOptions?.signal }),
    resend: (body, callOptions) =>
      call('POST', `${otp}/resend`, { body, authenticated: true, signal: callOptions?.signal }),
    verify: (body, callOptions) =>
      call('POST', `${otp}/verify`, { body, authenticated: true, signal: callOptions?.signal }),
    linkedNumber: async (callOptions) => {
      try {
        return await call<LinkedNumber>('GET', account, {
          authenticated: true,
          signal: callOptions?.signal,
        });
      } catch (error) {
        if (error instanceof OtpLinkError && error.code === 'RECORD_NOT_FOUND') return null;
        throw error;
      }
    },
    unlink: (callOptions) =>
      call('DELETE', account, { authenticated: true, signal: callOptions?.signal }),
  };
}
