import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { COUNTRY_CODE_MESSAGE, PHONE_NUMBER_PATTERN } from '@app/common';

/** `+` and 1-3 digits ("91" is accepted too); whether the code exists is INVALID_PHONE's job. */
const COUNTRY_CODE_FORMAT = /^\+?\d{1,3}$/;

export class PhoneDto {
  @ApiProperty({
    example: '9876543219',
    description: 'National number; spaces and dashes are ignored. 4-20 digits.',
    maxLength: 32,
  })
  @IsString()
  @MaxLength(32)
  @Matches(PHONE_NUMBER_PATTERN, {
    message: 'phone_number must be 4-20 digits (spaces and dashes allowed)',
  })
  phone_number!: string;

  @ApiProperty({
    example: '+91',
    description: 'Country calling code: + and 1-3 digits ("91" works too).',
  })
  @IsString()
  @MaxLength(4)
  @Matches(COUNTRY_CODE_FORMAT, { message: COUNTRY_CODE_MESSAGE })
  countryCode!: string;
}
