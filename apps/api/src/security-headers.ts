import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The API's security headers. The content policy allows only this origin's own scripts and
 * styles (the Swagger UI at /docs needs them; the JSON API needs nothing).
 */
export const API_SECURITY_HEADERS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      frameAncestors: ["'none'"],
    },
  },
};

/** A header helmet sets, or one it removes (value undefined). */
export type HeaderChange = readonly [name: string, value: OutgoingHttpHeader | undefined];

/**
 * The headers helmet sets for `options`, worked out once. Without nonces or other functions in
 * the policy, helmet's headers depend on nothing in the request; running its dozen middlewares
 * per request cost more than setting the list.
 */
export function securityHeaderChanges(options: Readonly<HelmetOptions>): HeaderChange[] {
  const policy = options.contentSecurityPolicy;
  const directives = typeof policy === 'object' ? Object.values(policy.directives ?? {}) : [];
  if (directives.flat().some((value) => typeof value === 'function')) {
    // A function (a nonce) gives each response its own value: it cannot be worked out once.
    throw new Error('a content policy with functions needs helmet on every request');
  }
  const changes: HeaderChange[] = [];
  const recorder = {
    setHeader: (name: string, value: OutgoingHttpHeader) => {
      changes.push([name, value]);
      return recorder;
    },
    removeHeader: (name: string) => void changes.push([name, undefined]),
  };
  let finished = false;
  helmet(options)(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    (error?: unknown) => {
      if (error) throw error as Error;
      finished = true;
    },
  );
  // A helmet that waited for something would make the list incomplete.
  if (!finished) throw new Error('helmet did not finish synchronously');
  return changes;
}

/** Applies the changes `securityHeaderChanges` worked out to one response. */
export function applyHeaderChanges(
  response: ServerResponse,
  changes: readonly HeaderChange[],
): void {
  for (const [name, value] of changes) {
    if (value === undefined) response.removeHeader(name);
    else response.setHeader(name, value);
  }
}
