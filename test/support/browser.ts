import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`), or CHROMIUM_PATH. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** The browser the browser specs drive; undefined when there is none (they are then skipped). */
export function chromiumPath(
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  const path = env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  return exists(path) ? path : undefined;
}

/** Where the browser specs leave their screenshots and axe results (gitignored). */
export const BROWSER_RESULTS = join(__dirname, '..', '..', 'test-results', 'browser');

/**
 * Headless Chromium with no network of its own (no updates, sync or QUIC): it talks to the
 * loopback app only. Each launch gets a fresh profile: Playwright makes a new temporary
 * --user-data-dir and removes it on close (it refuses one passed in the arguments).
 */
export async function launchBrowser(executablePath: string): Promise<Browser> {
  mkdirSync(BROWSER_RESULTS, { recursive: true });
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
