import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';

type Detail = { field: string; message: string };

/**
 * DTO validation whose failures answer 400 VALIDATION_FAILED with `details: [{field, message}]`,
 * in one voice: a missing field "is required"; a field of the wrong shape says what it must be.
 * Unknown fields are ignored (spec §5), but when a request fails they are named too, with the
 * field they were probably meant to be (`phoneNumber` → `phone_number`).
 */
class ContractValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true, // unknown fields are ignored (spec §5), and never reach a service
      transform: true,
      forbidUnknownValues: true,
      stopAtFirstError: true,
      // Values are read to tell "missing" from "wrong"; no message ever carries one.
      validationError: { target: false, value: true },
      exceptionFactory: (errors) => {
        const details = flatten(errors);
        return new AppError(ErrorCode.ValidationFailed, { details }, describe(details));
      },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    try {
      return await super.transform(value, metadata);
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== ErrorCode.ValidationFailed) throw error;
      const unknown = unknownFields(value, metadata);
      if (unknown.length === 0) throw error;
      const details = [...(error.extra.details ?? []), ...unknown];
      throw new AppError(ErrorCode.ValidationFailed, { details }, describe(details));
    }
  }
}

export function createValidationPipe(): ValidationPipe {
  return new ContractValidationPipe();
}

function flatten(errors: ValidationError[], prefix = ''): Detail[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const missing = error.value === undefined || error.value === null;
    const own =
      missing && error.constraints
        ? [{ field, message: `${field} is required` }]
        : Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** The body's top-level fields that its DTO does not know, each with a likely meant field. */
function unknownFields(value: unknown, metadata: ArgumentMetadata): Detail[] {
  const { metatype } = metadata;
  if (!metatype || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const known = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(metatype, '', true, false)
      .map((rule) => rule.propertyName),
  );
  if (known.size === 0) return [];
  const squash = (name: string) => name.toLowerCase().replace(/[_-]/g, '');
  return Object.keys(value)
    .filter((field) => !known.has(field))
    .slice(0, 10)
    .map((field) => {
      const meant = [...known].find((name) => squash(name) === squash(field));
      const hint = meant ? ` (did you mean ${meant}?)` : '';
      // Field names come from the caller: cap them so a huge key does not fill the answer.
      const shown = field.length > 64 ? `${field.slice(0, 64)}…` : field;
      return { field: shown, message: `${shown} is not a field of this request${hint}` };
    });
}

function describe(details: Detail[]): string {
  if (details.length === 0) return 'request body must be a JSON object';
  return details.map((detail) => detail.message).join('; ');
}
