import { ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import { PhoneDto } from './phone.dto';

/** Body of register. */
export class RegisterOtpDto extends PhoneDto {}

/** Body of resend: like register; an `authCode` is accepted and ignored. */
export class ResendOtpDto extends PhoneDto {
  @ApiPropertyOptional({
    example: '48213377',
    description: 'Accepted and ignored: the live challenge of (user, phone) is the one resent.',
    oneOf: [{ type: 'string' }, { type: 'integer' }],
  })
  @Allow()
  authCode?: unknown;
}
