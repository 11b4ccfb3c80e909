import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import { Env } from './env-parsers';

/**
 * The one place that reads process.env: variables from `.env` (when present) overlaid by the
 * real environment, which wins.
 */
export function readEnvironment(dotenvPath = '.env'): Env {
  const fromFile = existsSync(dotenvPath) ? parse(readFileSync(dotenvPath)) : {};
  return { ...fromFile, ...process.env };
}
