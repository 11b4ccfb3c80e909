import { ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { Channel, CHANNELS } from '@app/common';
import { PhoneDto } from './phone.dto';

/** BCP 47 as a client sends it: a language and subtags (`en`, `hi`, `es-MX`, `pt_BR`). */
const LOCALE_FORMAT = /^[a-zA-Z]{2,3}(?:[-_][a-zA-Z0-9]{1,8}){0,4}$/;

/** Body of register: the phone, and optionally the channel and the message's language. */
export class RegisterOtpDto extends PhoneDto {
  @ApiPropertyOptional({
    enum: CHANNELS,
    default: 'sms',
    example: 'whatsapp',
    description:
      'How to send the code: `sms` (default), `whatsapp` or `voice`. One that is not enabled (see the config endpoint), or that cannot reach a phone, is 400 CHANNEL_NOT_AVAILABLE.',
  })
  @IsOptional()
  @IsString()
  @IsIn(CHANNELS, { message: `channel must be one of ${CHANNELS.join(', ')}` })
  channel?: Channel;

  @ApiPropertyOptional({
    example: 'hi',
    maxLength: 35,
    description:
      'BCP 47 language of the message (`en`, `hi`, `es-MX`); unset: the Accept-Language header, else `en`. An unknown language gets the nearest available, then `en`.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(35)
  @Matches(LOCALE_FORMAT, { message: 'locale must be a BCP 47 language tag such as en or es-MX' })
  locale?: string;
}

/** Body of resend: like register; an `authCode` is accepted and ignored. */
export class ResendOtpDto extends RegisterOtpDto {
  @ApiPropertyOptional({
    example: '48213377',
    description: 'Accepted and ignored: the live challenge of (user, phone) is the one resent.',
    oneOf: [{ type: 'string' }, { type: 'integer' }],
  })
  @Allow()
  authCode?: unknown;
}
