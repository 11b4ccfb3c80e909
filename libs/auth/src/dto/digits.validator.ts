import { registerDecorator, ValidationOptions } from 'class-validator';

/**
 * A JSON number or a string of digits (the contract accepts both for `authCode` and `otp`):
 * a non-negative safe integer, or 1..maxDigits ASCII digits.
 */
export function IsDigitsOrNumber(
  maxDigits: number,
  options?: ValidationOptions,
): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isDigitsOrNumber',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: `$property must be a number or a string of 1-${maxDigits} digits`,
        ...options,
      },
      validator: {
        validate(value: unknown): boolean {
          if (typeof value === 'number') {
            return Number.isSafeInteger(value) && value >= 0 && String(value).length <= maxDigits;
          }
          return typeof value === 'string' && new RegExp(`^\\d{1,${maxDigits}}$`).test(value);
        },
      },
    });
  };
}
