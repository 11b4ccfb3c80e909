import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ERROR_MESSAGE, ERROR_STATUS, ErrorCode } from './error-code';

/** Documents the contract errors an endpoint can answer, each with its body shape. */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes)
    byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return applyDecorators(
    ...[...byStatus].map(([status, group]) =>
      ApiResponse({
        status,
        description: group.join(' | '),
        schema: {
          type: 'object',
          required: ['statusCode', 'error', 'message'],
          properties: {
            statusCode: { type: 'integer', example: status },
            error: { type: 'string', enum: group, example: group[0] },
            message: { type: 'string', example: ERROR_MESSAGE[group[0]] },
          },
        },
      }),
    ),
  );
}
