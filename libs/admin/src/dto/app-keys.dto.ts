import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { IsPrintable } from '@app/common';

export class IssuedAppKeyResponse {
  @ApiProperty({ example: 'ak_3f9a1c0e5b7d2a41', description: 'The key id operators retire.' })
  id!: string;

  @ApiProperty({
    example: 'olk_Xw2…',
    description: 'The x-api-key of /api/v1, shown this once (publishable: it ships in apps).',
  })
  appKey!: string;
}

export class AppKeyResponse {
  @ApiProperty({ example: 'ak_3f9a1c0e5b7d2a41' })
  id!: string;

  @ApiProperty({ example: 'active', enum: ['active', 'retired'] })
  status!: string;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: null, nullable: true, type: String })
  retiredAt!: string | null;
}

export class AppKeysResponse {
  @ApiProperty({
    type: [AppKeyResponse],
    example: [
      {
        id: 'ak_3f9a1c0e5b7d2a41',
        status: 'active',
        createdAt: '2026-12-01T10:00:00.000Z',
        retiredAt: null,
      },
    ],
  })
  appKeys!: AppKeyResponse[];

  @ApiProperty({
    example: ['https://app.example.com'],
    nullable: true,
    type: [String],
    description: 'Origins its app keys may be used from; null: any.',
  })
  allowedOrigins!: string[] | null;
}

export class AllowedOriginsDto {
  @ApiProperty({
    example: ['https://app.example.com'],
    nullable: true,
    type: [String],
    description: 'scheme://host[:port] each; null or [] allows any origin.',
  })
  // Required, null allowed: a body without `origins` (`{}`, a typo) must not lift the
  // restriction; clearing is an explicit null or [].
  @ValidateIf((_dto: AllowedOriginsDto, origins: unknown) => origins !== null)
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  @IsPrintable({ each: true })
  origins!: string[] | null;
}

export class SessionsQueryDto {
  @ApiPropertyOptional({ example: 50, minimum: 1, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  limit?: number;

  @ApiPropertyOptional({ example: 'WyIyMDI2LTExLTIzIDEwOjAwOjAwKzAwIiwiYSJd' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  @IsPrintable()
  cursor?: string;

  @ApiPropertyOptional({ example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  @IsOptional()
  @IsUUID('all')
  sessionId?: string;

  @ApiPropertyOptional({ example: 'okto-app' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @IsPrintable()
  clientId?: string;

  @ApiPropertyOptional({ example: '+919876543219' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  @IsPrintable()
  phone?: string;

  @ApiPropertyOptional({ example: true, description: 'Only sessions still usable.' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean()
  active?: boolean;
}

export class EndSessionsDto {
  @ApiPropertyOptional({
    example: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    description: 'One session.',
  })
  @IsOptional()
  @IsUUID('all')
  sessionId?: string;

  @ApiPropertyOptional({
    example: 'okto-app',
    description: "A client's sessions (or narrows phone).",
  })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @IsPrintable()
  clientId?: string;

  @ApiPropertyOptional({ example: '+919876543219', description: "A phone's sessions." })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  @IsPrintable()
  phone?: string;
}

export class SessionResponse {
  @ApiProperty({ example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  id!: string;
  @ApiProperty({
    example: 'app',
    enum: ['app', 'web'],
    description: "An app's (APP-AUTH.md) or a website's cookie session (FLOWS.md)",
  })
  kind!: string;
  @ApiProperty({
    example: 'okto-app',
    nullable: true,
    type: String,
    description: 'None for a web session of the `default` realm',
  })
  clientId!: string | null;
  @ApiProperty({ example: '5f0c7d2e-3b1a-4c4d-9e2f-1a2b3c4d5e6f', nullable: true, type: String })
  phoneUserId!: string | null;
  @ApiProperty({
    example: '+919876543219',
    nullable: true,
    type: String,
    description: 'None for a web session signed in with an email address',
  })
  phone!: string | null;
  @ApiProperty({ example: null, nullable: true, type: String })
  email!: string | null;
  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  createdAt!: string;
  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  refreshedAt!: string;
  @ApiProperty({ example: '2026-12-31T10:00:00.000Z' })
  expiresAt!: string;
  @ApiProperty({ example: null, nullable: true, type: String })
  endedAt!: string | null;
  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    enum: ['logout', 'refresh_reuse', 'revoked_session', 'revoked_user', 'revoked_client'],
  })
  endReason!: string | null;
  @ApiProperty({ example: true })
  active!: boolean;
}

export class SessionPageResponse {
  @ApiProperty({ type: [SessionResponse], example: [] })
  items!: SessionResponse[];
  @ApiProperty({ example: null, nullable: true, type: String })
  nextCursor!: string | null;
}

export class EndedSessionsResponse {
  @ApiProperty({ example: 1, description: 'Sessions ended now (not those ended before).' })
  ended!: number;
}

export class SigningKeyResponse {
  @ApiProperty({ example: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' })
  kid!: string;
  @ApiProperty({ example: 'active', enum: ['active', 'retiring', 'retired'] })
  status!: string;
  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  createdAt!: string;
  @ApiProperty({ example: null, nullable: true, type: String })
  retiredAt!: string | null;
}

export class SigningKeysResponse {
  @ApiProperty({ example: 'database', enum: ['database', 'TOKEN_SIGNING_KEYS'] })
  source!: string;
  @ApiProperty({ type: [SigningKeyResponse], example: [] })
  keys!: SigningKeyResponse[];
}

export class RotatedSigningKeyResponse {
  @ApiProperty({ example: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' })
  kid!: string;
  @ApiProperty({ example: ['b1X…'], type: [String], description: 'Keys now retiring.' })
  retiring!: string[];
}

export class RetiredSigningKeyResponse {
  @ApiProperty({ example: 'b1XyQ2o4b0d3YzE5ZmQ4ZTQ5MWE0YjM1NzcyZGI1ZQ' })
  kid!: string;
  @ApiProperty({ example: 'retired' })
  status!: string;
}
