import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

/** A header helmet sets, or one it removes (value undefined). */
export type HeaderChange = readonly [name: string, value: string | undefined];

/**
 * The headers helmet sets for `options`, worked out once. With these options (no nonces, no
 * functions) helmet's headers depend on nothing in the request, and running its dozen
 * middlewares on every request was 6 % of the API's CPU on a request that did nothing else.
 */
export function securityHeaderChanges(options: Readonly<HelmetOptions>): HeaderChange[] {
  const changes: HeaderChange[] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      changes.push([name, String(value)]);
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
