import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';

/** DTO validation whose failures answer 400 VALIDATION_FAILED with `details: [{field, message}]`. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true, // unknown fields are ignored (spec §5), and never reach a service
    transform: true,
    forbidUnknownValues: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) =>
      new AppError(ErrorCode.ValidationFailed, { details: flatten(errors) }, describe(errors)),
  });
}

function flatten(
  errors: ValidationError[],
  prefix = '',
): Array<{ field: string; message: string }> {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

function describe(errors: ValidationError[]): string {
  const fields = flatten(errors)
    .map((detail) => detail.field)
    .filter(Boolean);
  return fields.length > 0
    ? `invalid fields: ${[...new Set(fields)].join(', ')}`
    : 'request body must be a JSON object';
}
