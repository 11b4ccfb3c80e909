import { ApiProperty } from '@nestjs/swagger';
import { IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { PHONE_NUMBER_PATTERN } from '@app/common';

/** Body of POST /api/v1/authenticate/phone (APP-AUTH.md). */
export class PhoneOtpDto {
  @ApiProperty({
    example: '9876543219',
    maxLength: 32,
    description: 'National number; spaces and dashes are ignored. 4-20 digits.',
  })
  @IsString()
  @MaxLength(32)
  @Matches(PHONE_NUMBER_PATTERN, {
    message: 'phone_number must be 4-20 digits (spaces and dashes allowed)',
  })
  phone_number!: string;

  @ApiProperty({ example: 'IN', description: 'ISO 3166-1 alpha-2 country of the number.' })
  @IsString()
  @MaxLength(2)
  @Matches(/^[A-Za-z]{2}$/, { message: 'country_short_name must be two letters, e.g. IN' })
  country_short_name!: string;
}

/** Body of POST /api/v1/authenticate/phone/verify. */
export class VerifyPhoneOtpDto extends PhoneOtpDto {
  @ApiProperty({ example: '596097', description: 'The code the user received.' })
  @IsString()
  @MaxLength(10)
  @Matches(/^\d{4,10}$/, { message: 'otp must be 4-10 digits' })
  otp!: string;

  @ApiProperty({
    example: '0b9f4c1e-2d6a-4f39-9a57-0a4f1b2c3d4e',
    description: 'The `token` the send answered.',
  })
  @IsString()
  @IsUUID('all', { message: 'token must be the token the send answered' })
  token!: string;
}

class Envelope {
  @ApiProperty({ enum: ['success'], example: 'success' })
  status!: 'success';
}

class PhoneOtpSent {
  @ApiProperty({ example: 'success' })
  status!: string;
  @ApiProperty({ example: 'phone otp sent' })
  message!: string;
  @ApiProperty({ example: 200 })
  code!: number;
  @ApiProperty({
    example: '0b9f4c1e-2d6a-4f39-9a57-0a4f1b2c3d4e',
    description: 'Names the challenge; send it back to verify (not secret alone).',
  })
  token!: string;
  @ApiProperty({ example: '4b592f1a-983d-4775-882b-2c5898a7c23d' })
  trace_id!: string;
}

export class PhoneOtpSentResponse extends Envelope {
  @ApiProperty({
    type: PhoneOtpSent,
    example: {
      status: 'success',
      message: 'phone otp sent',
      code: 200,
      token: '0b9f4c1e-2d6a-4f39-9a57-0a4f1b2c3d4e',
      trace_id: '4b592f1a-983d-4775-882b-2c5898a7c23d',
    },
  })
  data!: PhoneOtpSent;
}

class SignedIn {
  @ApiProperty({
    example: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln',
    description: 'ES256 JWT (typ at+jwt), verifiable with /.well-known/jwks.json',
  })
  auth_token!: string;
  @ApiProperty({ example: 'success' })
  message!: string;
  @ApiProperty({
    example: 'q2V0c2VjcmV0LXNob3duLW9uY2UtMzItYnl0ZXMtaGVyZQ',
    description: 'Opaque, 256 bits; works once (rotates).',
  })
  refresh_auth_token!: string;
  @ApiProperty({
    example: 'q2V0c2VjcmV0LXNob3duLW9uY2UtMzItYnl0ZXMtaGVyZQ',
    description: 'Opaque, 256 bits; names this device on refresh.',
  })
  device_token!: string;
  @ApiProperty({ example: '4b592f1a-983d-4775-882b-2c5898a7c23d' })
  trace_id!: string;
}

export class SignedInResponse extends Envelope {
  @ApiProperty({
    type: SignedIn,
    example: {
      auth_token:
        'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln',
      message: 'success',
      refresh_auth_token: 'q2V0c2VjcmV0LXNob3duLW9uY2UtMzItYnl0ZXMtaGVyZQ',
      device_token: 'q2V0c2VjcmV0LXNob3duLW9uY2UtMzItYnl0ZXMtaGVyZQ',
      trace_id: '4b592f1a-983d-4775-882b-2c5898a7c23d',
    },
  })
  data!: SignedIn;
}

class Refreshed {
  @ApiProperty({
    example: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln',
  })
  auth_token!: string;
  @ApiProperty({ example: 'q2V0c2VjcmV0LXNob3duLW9uY2UtMzItYnl0ZXMtaGVyZQ' })
  refresh_auth_token!: string;
  @ApiProperty({ example: 'q2V0c2VjcmV0LXNob3duLW9uY2UtMzItYnl0ZXMtaGVyZQ' })
  device_token!: string;
  @ApiProperty({ example: 'success' })
  message!: string;
}

export class RefreshedResponse extends Envelope {
  @ApiProperty({
    type: Refreshed,
    example: {
      auth_token:
        'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln',
      refresh_auth_token: 'q2V0c2VjcmV0LXNob3duLW9uY2UtMzItYnl0ZXMtaGVyZQ',
      device_token: 'q2V0c2VjcmV0LXNob3duLW9uY2UtMzItYnl0ZXMtaGVyZQ',
      message: 'success',
    },
  })
  data!: Refreshed;
}

class Message {
  @ApiProperty({ example: 'success' })
  message!: string;
}

export class LoggedOutResponse extends Envelope {
  @ApiProperty({ type: Message, example: { message: 'success' } })
  data!: Message;
}

class UserFromToken {
  @ApiProperty({
    example: '5f0c7d2e-3b1a-8c4d-9e2f-1a2b3c4d5e6f',
    description: "The token's sub: the user's id for this client (pairwise).",
  })
  user_id!: string;
  @ApiProperty({ example: '+919876543219' })
  phone_number!: string;
  @ApiProperty({
    example: '2026-12-06T09:15:03.594Z',
    description: 'When this session verified the phone.',
  })
  phone_verified_at!: string;
  @ApiProperty({
    example: '2026-12-01T10:00:00.000Z',
    description: 'When the phone identity was first seen.',
  })
  created_at!: string;
}

export class UserFromTokenResponse extends Envelope {
  @ApiProperty({
    type: UserFromToken,
    example: {
      user_id: '5f0c7d2e-3b1a-8c4d-9e2f-1a2b3c4d5e6f',
      phone_number: '+919876543219',
      phone_verified_at: '2026-12-06T09:15:03.594Z',
      created_at: '2026-12-01T10:00:00.000Z',
    },
  })
  data!: UserFromToken;
}
