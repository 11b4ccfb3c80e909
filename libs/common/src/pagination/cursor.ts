import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';

/** One page of a keyset-paginated list. */
export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** A page size within bounds. */
export function pageSize(limit: number | undefined): number {
  return Math.min(Math.max(Math.trunc(limit ?? DEFAULT_PAGE_SIZE), 1), MAX_PAGE_SIZE);
}

/**
 * An opaque cursor over the sort key of the last row of a page. Timestamps go in as
 * PostgreSQL's own text (microseconds): a JavaScript Date would round them to milliseconds and
 * repeat rows across pages.
 */
export function encodeCursor(key: string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

const TIMESTAMP_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(?:([+-])(\d{2})(?::?(\d{2}))?|Z)?$/;
const BIGINT_MAX = 2n ** 63n - 1n;
// eslint-disable-next-line no-control-regex
const NO_NUL_TEXT = /^[^\u0000]{0,256}$/;

/** A timestamp PostgreSQL accepts: the shape, and a date and time that exist. */
function isTimestamp(part: string): boolean {
  const match = TIMESTAMP_TEXT.exec(part);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const offsetHours = match[9] === undefined ? 0 : Number(match[9]);
  const offsetMinutes = match[10] === undefined ? 0 : Number(match[10]);
  return (
    year >= 1 &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    offsetHours <= 15 &&
    offsetMinutes < 60
  );
}

const PART_FORMATS = {
  timestamp: isTimestamp,
  integer: (part: string) => /^\d{1,19}$/.test(part) && BigInt(part) <= BIGINT_MAX,
  uuid: (part: string) =>
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(part),
  string: (part: string) => NO_NUL_TEXT.test(part),
};

/** The key a cursor holds: `shape` says, per part, a timestamp, an integer or any string. */
export function decodeCursor(cursor: string, shape: Array<keyof typeof PART_FORMATS>): string[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const fits =
    Array.isArray(key) &&
    key.length === shape.length &&
    key.every((part, i) => typeof part === 'string' && PART_FORMATS[shape[i]](part));
  if (!fits) {
    throw new AppError(ErrorCode.ValidationFailed, {
      details: [{ field: 'cursor', message: 'cursor is not one this API gave out' }],
    });
  }
  return key as string[];
}

/** Cuts the one row fetched beyond the page and makes the cursor from the page's last row. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  view: (row: R) => T,
  cursorKey: (row: R) => string[],
): Page<T> {
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  return {
    items: rows.slice(0, limit).map(view),
    nextCursor: last ? encodeCursor(cursorKey(last)) : null,
  };
}
