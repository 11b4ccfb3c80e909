import { ValidateBy, type ValidationOptions } from 'class-validator';
import { isPrintableText } from './text-param.pipe';

/**
 * A string without control characters or lone surrogates (for query filters that reach SQL as
 * text), as TextParamPipe takes a path parameter.
 */
export function IsPrintable(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPrintable',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isPrintableText(value),
        defaultMessage: () => '$property must be printable text',
      },
    },
    options,
  );
}
