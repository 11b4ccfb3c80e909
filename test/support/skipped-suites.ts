import { chromiumPath, DEFAULT_CHROMIUM } from './browser';

/*
 * What `npm test` leaves out for want of a server, and how to turn it on: printed before the
 * tests (jest.config.js globalSetup) and again after Jest's summary (globalTeardown).
 */

/** One line per suite this environment skips; empty when everything runs. */
export function skippedSuites(
  env: NodeJS.ProcessEnv,
  hasBrowser: boolean = chromiumPath(env) !== undefined,
): string[] {
  const notes: string[] = [];
  if (!env.TEST_DATABASE_URL && !env.DATABASE_URL) {
    notes.push(
      'e2e:postgres skipped (the e2e suite ran on the embedded database only): set ' +
        'TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run it on PostgreSQL too ' +
        '(the database is created when missing)',
    );
  }
  if (!env.REDIS_URL_FOR_TESTS) {
    notes.push(
      'Redis specs skipped (the shared per-IP limit): set ' +
        'REDIS_URL_FOR_TESTS=redis://127.0.0.1:6379 to run them',
    );
  }
  if (!hasBrowser) {
    notes.push(
      `browser specs skipped (no Chromium at ${env.CHROMIUM_PATH || DEFAULT_CHROMIUM}): ` +
        'apt-get install -y chromium, or set CHROMIUM_PATH to a Chromium or Chrome binary',
    );
  }
  return notes;
}

/** The notes as printed, or '' when nothing is skipped. */
export function skippedSuitesReport(
  env: NodeJS.ProcessEnv,
  hasBrowser: boolean = chromiumPath(env) !== undefined,
): string {
  const notes = skippedSuites(env, hasBrowser);
  return notes.length === 0 ? '' : `\n${notes.map((note) => `npm test: ${note}`).join('\n')}\n\n`;
}

/** jest.config.js's globalSetup and globalTeardown. */
export default function printSkippedSuites(): void {
  process.stderr.write(skippedSuitesReport(process.env));
}
