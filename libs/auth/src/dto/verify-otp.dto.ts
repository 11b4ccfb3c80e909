import { ApiProperty } from '@nestjs/swagger';
import { IsDefined } from 'class-validator';
import { PhoneDto } from './phone.dto';
import { IsDigitsOrNumber } from './digits.validator';

export class VerifyOtpDto extends PhoneDto {
  @ApiProperty({
    example: 48213377,
    description: 'The authCode register answered; a JSON number or a string of digits.',
    oneOf: [{ type: 'string', pattern: '^\\d{1,15}$' }, { type: 'integer' }],
  })
  @IsDefined()
  @IsDigitsOrNumber(15)
  authCode!: number | string;

  @ApiProperty({
    example: '596097',
    description:
      'The code from the SMS. A JSON number is left-padded with zeros to the code length.',
    oneOf: [{ type: 'string', pattern: '^\\d{1,10}$' }, { type: 'integer' }],
  })
  @IsDefined()
  @IsDigitsOrNumber(10)
  otp!: number | string;
}
