import { AppError } from '../errors/app-error';
import { MAX_JSON_DEPTH, parseJsonBody } from './json-body-parser';

function refusal(text: string): string {
  try {
    parseJsonBody(text);
  } catch (error) {
    if (error instanceof AppError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return 'accepted';
}

describe('parseJsonBody', () => {
  it('parses ordinary JSON', () => {
    expect(parseJsonBody('{"phone_number":"98","nested":{"a":[1,{"b":2}]}}')).toEqual({
      phone_number: '98',
      nested: { a: [1, { b: 2 }] },
    });
  });

  it(`accepts nesting up to ${MAX_JSON_DEPTH} levels and refuses one more`, () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    expect(parseJsonBody(nested(MAX_JSON_DEPTH))).toBeDefined();
    expect(refusal(nested(MAX_JSON_DEPTH + 1))).toBe(
      `VALIDATION_FAILED: request body is nested deeper than ${MAX_JSON_DEPTH} levels`,
    );
    expect(refusal(`{"a":${nested(5000)}}`)).toMatch(/nested deeper/);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const value = '['.repeat(100) + '"' + '{'.repeat(100);
    expect(parseJsonBody(JSON.stringify({ s: value }))).toEqual({ s: value });
  });

  it('refuses malformed JSON and prototype poisoning', () => {
    expect(refusal('{"a":')).toBe('VALIDATION_FAILED: request body is not valid JSON');
    expect(refusal('{"__proto__":{"admin":true}}')).toBe(
      'VALIDATION_FAILED: request body is not valid JSON',
    );
    expect(refusal('{"constructor":{"prototype":{"admin":true}}}')).toBe(
      'VALIDATION_FAILED: request body is not valid JSON',
    );
  });
});
