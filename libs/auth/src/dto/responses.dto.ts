import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class OtpSentResponse {
  @ApiProperty({
    example: '48213377',
    description: 'Identifies the challenge; send it back to verify.',
  })
  authCode!: string;

  @ApiProperty({ example: true, description: 'True when no user with this phone exists yet.' })
  isNewUser!: boolean;

  @ApiProperty({ example: 300, description: 'Seconds the code stays valid.' })
  expiresIn!: number;

  @ApiProperty({ example: 30, description: 'Seconds before a resend is allowed.' })
  resendAfter!: number;

  @ApiPropertyOptional({ example: 5, description: 'Wrong codes the challenge still accepts.' })
  attemptsLeft?: number;

  @ApiPropertyOptional({
    example: 'sms',
    enum: ['sms', 'whatsapp', 'voice'],
    description: 'The channel the code was (first) sent on.',
  })
  channel?: string;
}

export class VerifyResponse {
  @ApiProperty({ example: 'Users linked successfully' })
  message!: string;

  @ApiPropertyOptional({
    example:
      'eyJhbGciOiJFUzI1NiIsInR5cCI6InBob25lLXZlcmlmaWNhdGlvbitqd3QiLCJraWQiOiIuLi4ifQ.e30.c2ln',
    description:
      'APP-AUTH.md: an ES256 JWT (typ phone-verification+jwt; iss, aud = client id, sub = your user id, phone_number, phone_user_id, iat, exp = 10 minutes) your backend verifies offline with /.well-known/jwks.json. Absent when the service signs no tokens.',
  })
  verificationToken?: string;

  @ApiProperty({
    example: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    description: 'The phone identity.',
  })
  userId!: string;

  @ApiProperty({ example: false, description: 'True when this verify created the phone identity.' })
  isNewUser!: boolean;
}

export class UnlinkResponse {
  @ApiProperty({ example: 'Users unlinked successfully' })
  message!: string;
}

export class LinkedMobileNumberResponse {
  @ApiProperty({ example: 'qwerty' })
  UserID!: string;

  @ApiProperty({ example: 'd5b2e760-1b6c-4296-a89f-1da0ffe8c414___qwerty' })
  NameSpacedThirdPartyUserID!: string;

  @ApiProperty({
    example: '0x4C5874998bE398BD7EA29bBb21FFf7506aDf639D',
    nullable: true,
    type: String,
  })
  WalletAddress!: string | null;

  @ApiProperty({ example: '9876543219' })
  LinkedPhone!: string;

  @ApiProperty({ example: '+91' })
  CountryCode!: string;

  @ApiProperty({ example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  PhoneUserId!: string;

  @ApiProperty({ example: '2026-11-23T10:00:00.000Z' })
  LinkedAt!: string;
}

export class OtpConfigResponse {
  @ApiProperty({ example: 6 })
  otpLength!: number;

  @ApiProperty({ example: 300 })
  expiresIn!: number;

  @ApiProperty({ example: 30 })
  resendAfter!: number;

  @ApiProperty({ example: 5 })
  maxAttempts!: number;

  @ApiProperty({
    example: ['+91', '+44'],
    description: 'Empty: every country is allowed (see allCountriesAllowed).',
  })
  allowedCountryCodes!: string[];

  @ApiProperty({
    example: false,
    description:
      "True when no country list applies; false with an empty list: none (the client's list and the service's do not meet).",
  })
  allCountriesAllowed!: boolean;

  @ApiProperty({ example: '^\\+?\\d{1,3}$' })
  countryCodePattern!: string;

  @ApiProperty({ example: '^\\d(?:[ -]*\\d){3,19}$' })
  phoneNumberPattern!: string;

  @ApiProperty({
    example: ['sms', 'whatsapp', 'voice'],
    description:
      'The enabled channels; register and resend take one of the phone ones as `channel`.',
  })
  channels!: string[];

  @ApiProperty({
    example: ['en', 'hi', 'es', 'pt', 'id'],
    description: 'Locales the messages are written in; `locale` picks the nearest, else `en`.',
  })
  locales!: string[];
}
