import type autocannon from 'autocannon';
import type { SeededChallenge } from './database';
import { wrongCodeFor, type BenchUser } from './identities';
import { percentiles, type Latency, type Pool, type ResponseCheck } from './load';
import type { NotifyTail } from './notify-tail';

export const REGISTER = '/fe/users/auth/otp/register';
export const VERIFY = '/fe/users/auth/otp/verify';
export const LINKED = '/fe/users/account/linked-mobile-number';
const COUNTRY = '+91';

/** What autocannon keeps per connection between the requests of one sequence. */
interface Context {
  user?: BenchUser;
  authCode?: string;
  sentAt?: number;
}

/** A challenge the API issued (or the bench seeded) with the code that verifies it. */
export interface KnownChallenge {
  user: BenchUser;
  authCode: string;
  code: string;
}

function jsonRequest(
  request: autocannon.Request,
  token: string,
  body: Record<string, unknown>,
): autocannon.Request {
  return {
    ...request,
    headers: { 'content-type': 'application/json', 'user-jwt-token': token },
    body: JSON.stringify(body),
  };
}

function registerBody(user: BenchUser) {
  return { phone_number: user.national, countryCode: COUNTRY };
}

function verifyBody(user: BenchUser, authCode: string, otp: string) {
  // Numbers, as in API.md's example: the server pads a numeric otp back to its length.
  return {
    phone_number: user.national,
    countryCode: COUNTRY,
    authCode: Number(authCode),
    otp: Number(otp),
  };
}

function authCodeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { authCode?: unknown };
    return typeof parsed.authCode === 'string' ? parsed.authCode : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Register with a fresh user and phone per request. `issued` receives each challenge the API
 * started (for the embedded database, whose challenges cannot be seeded from outside).
 */
export function registerRequests(
  users: Pool<BenchUser>,
  check: ResponseCheck,
  issued?: (user: BenchUser, authCode: string) => void,
): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path: REGISTER,
      setupRequest: (request, context: Context) => {
        const user = users.next();
        context.user = user;
        return jsonRequest(request, user.token, registerBody(user));
      },
      onResponse: (status, body, context: Context) => {
        if (!check.record(status, body) || !issued || !context.user) return;
        const authCode = authCodeOf(body);
        if (authCode) issued(context.user, authCode);
      },
    },
  ];
}

/** Verify with the right code, one challenge per request: each links its user (200). */
export function verifyRequests(
  challenges: Pool<KnownChallenge>,
  check: ResponseCheck,
): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path: VERIFY,
      setupRequest: (request) => {
        const { user, authCode, code } = challenges.next();
        return jsonRequest(request, user.token, verifyBody(user, authCode, code));
      },
      onResponse: (status, body) => void check.record(status, body),
    },
  ];
}

/** Verify with a wrong code: the attempt-counting path, 400 INVALID_OTP. */
export function wrongCodeRequests(
  challenges: Pool<SeededChallenge>,
  check: ResponseCheck,
): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path: VERIFY,
      setupRequest: (request) => {
        const { user, authCode, code } = challenges.next();
        return jsonRequest(request, user.token, verifyBody(user, authCode, wrongCodeFor(code)));
      },
      onResponse: (status, body) => void check.record(status, body),
    },
  ];
}

/** The read path: a linked user asks for its own link. */
export function linkedRequests(users: Pool<BenchUser>, check: ResponseCheck): autocannon.Request[] {
  return [
    {
      method: 'GET',
      path: LINKED,
      setupRequest: (request) => ({
        ...request,
        headers: { 'user-jwt-token': users.next().token },
      }),
      onResponse: (status, body) => void check.record(status, body),
    },
  ];
}

/** Per-step figures of the full flow, measured by the client around each request. */
export class FlowSteps {
  readonly register: number[] = [];
  readonly codeLookup: number[] = [];
  readonly verify: number[] = [];
  flows = 0;
  registerFailed = 0;
  codeMissing = 0;

  summary(seconds: number): Record<string, unknown> {
    const steps: Record<string, Latency | undefined> = {
      register: percentiles(this.register),
      codeLookup: percentiles(this.codeLookup),
      verify: percentiles(this.verify),
    };
    return {
      flows: this.flows,
      flowsPerSecond: seconds > 0 ? Math.round((this.flows / seconds) * 10) / 10 : 0,
      registerFailed: this.registerFailed,
      codeMissing: this.codeMissing,
      stepLatencyMs: steps,
    };
  }
}

/**
 * A virtual user's whole flow per connection: register, read the code the server "sent" from
 * NOTIFY_FILE, verify. A failed register skips the verify (the sequence restarts).
 */
export function flowRequests(
  users: Pool<BenchUser>,
  tail: NotifyTail,
  steps: FlowSteps,
  check: ResponseCheck,
): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path: REGISTER,
      setupRequest: (request, context: Context) => {
        const user = users.next();
        context.user = user;
        context.authCode = undefined;
        context.sentAt = performance.now();
        return jsonRequest(request, user.token, registerBody(user));
      },
      onResponse: (status, body, context: Context) => {
        steps.register.push(performance.now() - (context.sentAt ?? 0));
        if (check.record(status, body)) context.authCode = authCodeOf(body);
        else steps.registerFailed++;
      },
    },
    {
      method: 'POST',
      path: VERIFY,
      // Returning null makes autocannon restart the sequence; its types do not say so.
      setupRequest: ((request: autocannon.Request, context: Context) => {
        const { user, authCode } = context;
        if (!user || !authCode) return null;
        const started = performance.now();
        let code = tail.take(user.e164, authCode);
        steps.codeLookup.push(performance.now() - started);
        if (code === undefined) {
          steps.codeMissing++;
          code = '000000'; // still sent, so the failure shows in the status counts
        }
        context.sentAt = performance.now();
        return jsonRequest(request, user.token, verifyBody(user, authCode, code));
      }) as unknown as autocannon.Request['setupRequest'],
      onResponse: (status, body, context: Context) => {
        steps.verify.push(performance.now() - (context.sentAt ?? 0));
        if (check.record(status, body)) steps.flows++;
      },
    },
  ];
}

/** The baselines' request: the size and shape of a register call. */
export function baselineRequests(token: string, check: ResponseCheck): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path: REGISTER,
      headers: { 'content-type': 'application/json', 'user-jwt-token': token },
      body: JSON.stringify({ phone_number: '9876543219', countryCode: COUNTRY }),
      onResponse: (status, body) => void check.record(status, body),
    },
  ];
}
