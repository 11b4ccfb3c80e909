import { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';

/**
 * Control characters (NUL above all: PostgreSQL text refuses it, and answers 500 if asked) have
 * no place in an id, a name or a filter.
 */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Text without control characters or lone surrogates (which the driver would send as U+FFFD). */
export function isPrintableText(value: string): boolean {
  return !CONTROL_CHARS.test(value) && value.isWellFormed();
}

/**
 * A path parameter that names something (a client, a user, a key): 1 to `maxLength` characters
 * of printable, well-formed text, else 400 VALIDATION_FAILED naming the parameter.
 */
export class TextParamPipe implements PipeTransform<unknown, string> {
  constructor(private readonly maxLength: number) {}

  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (
      typeof value !== 'string' ||
      value.length === 0 ||
      value.length > this.maxLength ||
      !isPrintableText(value)
    ) {
      const field = metadata.data ?? 'param';
      throw new AppError(ErrorCode.ValidationFailed, {
        details: [{ field, message: `${field} must be 1-${this.maxLength} printable characters` }],
      });
    }
    return value;
  }
}
