import { AppError } from '../errors/app-error';
import { decodeCursor, encodeCursor } from './cursor';

const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');

describe('decodeCursor', () => {
  it('gives back the key of a cursor made by encodeCursor', () => {
    const key = ['2026-12-01 10:00:00.123456+00', '9223372036854775807'];
    expect(decodeCursor(encodeCursor(key), ['timestamp', 'integer'])).toEqual(key);
    const other = ['2026-02-28T23:59:59Z', 'd5b2e760-1b6c-4296-a89f-1da0ffe8c414'];
    expect(decodeCursor(encodeCursor(other), ['timestamp', 'uuid'])).toEqual(other);
    expect(
      decodeCursor(encodeCursor(['2024-02-29 00:00:00+05:30', "O'Brien"]), ['timestamp', 'string']),
    ).toEqual(['2024-02-29 00:00:00+05:30', "O'Brien"]);
  });

  // Each of these would reach PostgreSQL and fail there (22008, 22003, 22021): a 500, not a 400.
  it.each([
    ['a month that does not exist', ['2026-13-01 00:00:00+00', '1'], ['timestamp', 'integer']],
    ['a day the month lacks', ['2026-02-30 00:00:00+00', '1'], ['timestamp', 'integer']],
    ['an hour past 23', ['2026-01-01 24:00:00+00', '1'], ['timestamp', 'integer']],
    ['year zero', ['0000-01-01 00:00:00+00', '1'], ['timestamp', 'integer']],
    ['an offset past 15 hours', ['2026-01-01 00:00:00+16', '1'], ['timestamp', 'integer']],
    [
      'an integer past bigint',
      ['2026-01-01 00:00:00+00', '9223372036854775808'],
      ['timestamp', 'integer'],
    ],
    ['a NUL in a string', ['2026-01-01 00:00:00+00', 'a\u0000b'], ['timestamp', 'string']],
    ['a part of the wrong kind', ['2026-01-01 00:00:00+00', 'not-a-uuid'], ['timestamp', 'uuid']],
    ['too few parts', ['2026-01-01 00:00:00+00'], ['timestamp', 'uuid']],
    ['a number instead of text', ['2026-01-01 00:00:00+00', 1], ['timestamp', 'integer']],
  ] as const)('refuses %s with 400 VALIDATION_FAILED', (_name, key, shape) => {
    const decode = () => decodeCursor(cursorOf(key), [...shape]);
    expect(decode).toThrow(AppError);
    expect(decode).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('refuses what is not base64url JSON', () => {
    expect(() => decodeCursor('%%%', ['timestamp'])).toThrow(AppError);
    expect(() => decodeCursor(Buffer.from('{').toString('base64url'), ['timestamp'])).toThrow(
      AppError,
    );
  });
});
