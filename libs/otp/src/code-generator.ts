import { randomInt } from 'node:crypto';

/** Source of codes; a port so tests can choose them. Uses the CSPRNG. */
export abstract class CodeGenerator {
  /** A code of exactly `length` digits (leading zeros allowed). */
  abstract code(length: number): string;
  /** An authCode: AUTH_CODE_LENGTH digits, no leading zero (survives a JSON number round trip). */
  abstract authCode(): string;
}

export const AUTH_CODE_LENGTH = 8;

export class RandomCodeGenerator extends CodeGenerator {
  code(length: number): string {
    return randomInt(0, 10 ** length)
      .toString()
      .padStart(length, '0');
  }

  authCode(): string {
    return randomInt(10 ** (AUTH_CODE_LENGTH - 1), 10 ** AUTH_CODE_LENGTH).toString();
  }
}
