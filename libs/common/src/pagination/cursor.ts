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
  /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)?$/;

const PART_FORMATS = {
  timestamp: TIMESTAMP_TEXT,
  integer: /^\d{1,19}$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  string: /^[\s\S]{0,256}$/,
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
    key.every((part, i) => typeof part === 'string' && PART_FORMATS[shape[i]].test(part));
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
