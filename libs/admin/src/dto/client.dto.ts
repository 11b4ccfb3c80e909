import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  MaxLength,
} from 'class-validator';
import { Type } from 'class-transformer';
import {
  CLIENT_STATUSES,
  KEY_ALGORITHMS,
  type ClientStatus,
  type KeyAlgorithm,
} from '@app/partners';
import { IssuedAppKeyResponse } from './app-keys.dto';

/*
 * Shapes only (types, sizes): the registry checks what the values mean (country code format,
 * template placeholders, key strength), the same for the CLI and for this API.
 */

const EXAMPLE_CLIENT_ID = 'd5b2e760-1b6c-4296-a89f-1da0ffe8c414';
const EXAMPLE_TEMPLATES = { hi: '{code} आपका {app} कोड है' };
const TEMPLATES_DESCRIPTION =
  'Its own texts by locale (en, hi, es, pt, id), each with {code}; used before messageTemplate for a code sent in that locale.';
const APP_HASH_DESCRIPTION =
  "Its Android app's SMS Retriever hash (11 characters): the last line of its SMS, so the app reads the code by itself.";
const EXAMPLE_PEM =
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…\n-----END PUBLIC KEY-----\n';

/** Settings an operator may set; `null` clears one back to the service default. */
export class ClientSettingsDto {
  @ApiPropertyOptional({ example: 'Ludo', maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  name?: string;

  @ApiPropertyOptional({
    example: ['+91', '+44'],
    nullable: true,
    type: [String],
    description:
      "Country calling codes its users may register, within the service's ALLOWED_COUNTRY_CODES; null or [] for the service's list.",
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(300)
  @IsString({ each: true })
  @MaxLength(4, { each: true })
  allowedCountryCodes?: string[] | null;

  @ApiPropertyOptional({
    example: 5000,
    nullable: true,
    type: Number,
    description: 'Codes sent per hour to all its users together; null: no budget of its own.',
  })
  @IsOptional()
  @IsInt()
  hourlySendBudget?: number | null;

  @ApiPropertyOptional({
    example: 'Ludo King',
    nullable: true,
    type: String,
    maxLength: 30,
    description: "The app name in its SMS; null: the token's third_party_client_name.",
  })
  @IsOptional()
  @IsString()
  @MaxLength(30)
  senderName?: string | null;

  @ApiPropertyOptional({
    example: '{code} is your {app} code. It expires in {expires}.',
    nullable: true,
    type: String,
    maxLength: 320,
    description: 'Its own SMS text: {code} (required), {app}, {expires}; null: the standard text.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(320)
  messageTemplate?: string | null;

  @ApiPropertyOptional({
    example: EXAMPLE_TEMPLATES,
    nullable: true,
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 320 },
    description: `${TEMPLATES_DESCRIPTION} null clears them.`,
  })
  @IsOptional()
  @IsObject()
  messageTemplates?: Record<string, string> | null;

  @ApiPropertyOptional({
    example: 'FA+9qCX9VSu',
    nullable: true,
    type: String,
    maxLength: 11,
    description: `${APP_HASH_DESCRIPTION} null clears it.`,
  })
  @IsOptional()
  @IsString()
  @MaxLength(11)
  androidAppHash?: string | null;
}

/** A public key for partners that sign with RS256 / ES256; without one a new HS256 secret is made. */
export class AddKeyDto {
  @ApiPropertyOptional({
    example: EXAMPLE_PEM,
    description: 'PEM of an RSA (2048+ bits, RS256) or EC P-256 (ES256) public key.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  publicKey?: string;

  @ApiPropertyOptional({ example: 'ES256', enum: KEY_ALGORITHMS })
  @IsOptional()
  @IsIn(KEY_ALGORITHMS)
  algorithm?: KeyAlgorithm;
}

export class CreateClientDto extends AddKeyDto {
  @ApiPropertyOptional({
    example: EXAMPLE_CLIENT_ID,
    description:
      "The third_party_client_id its tokens carry (default: a new UUID). Printable ASCII, at most 128 characters, no '___'.",
  })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  id?: string;

  @ApiProperty({ example: 'Ludo', maxLength: 100 })
  @IsString()
  @MaxLength(100)
  name!: string;

  @ApiPropertyOptional({ example: ['+91'], type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(300)
  @IsString({ each: true })
  @MaxLength(4, { each: true })
  allowedCountryCodes?: string[];

  @ApiPropertyOptional({ example: 5000 })
  @IsOptional()
  @IsInt()
  hourlySendBudget?: number;

  @ApiPropertyOptional({ example: 'Ludo King', maxLength: 30 })
  @IsOptional()
  @IsString()
  @MaxLength(30)
  senderName?: string;

  @ApiPropertyOptional({
    example: '{code} is your {app} code. It expires in {expires}.',
    maxLength: 320,
  })
  @IsOptional()
  @IsString()
  @MaxLength(320)
  messageTemplate?: string;

  @ApiPropertyOptional({
    example: EXAMPLE_TEMPLATES,
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 320 },
    description: TEMPLATES_DESCRIPTION,
  })
  @IsOptional()
  @IsObject()
  messageTemplates?: Record<string, string>;

  @ApiPropertyOptional({ example: 'FA+9qCX9VSu', maxLength: 11, description: APP_HASH_DESCRIPTION })
  @IsOptional()
  @IsString()
  @MaxLength(11)
  androidAppHash?: string;
}

export class PageQueryDto {
  @ApiPropertyOptional({ example: 50, minimum: 1, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  limit?: number;

  @ApiPropertyOptional({ example: 'WyIyMDI2LTExLTIzIDEwOjAwOjAwKzAwIiwiYSJd' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  cursor?: string;
}

export class ListClientsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'active', enum: CLIENT_STATUSES })
  @IsOptional()
  @IsIn(CLIENT_STATUSES)
  status?: ClientStatus;
}

export class ClientKeyResponse {
  @ApiProperty({ example: '3f9a1c0e5b7d' })
  kid!: string;

  @ApiProperty({ example: 'HS256', enum: KEY_ALGORITHMS })
  algorithm!: string;

  @ApiProperty({ example: 'active', enum: ['active', 'retired'] })
  status!: string;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: null, nullable: true, type: String })
  retiredAt!: string | null;
}

export class ClientResponse {
  @ApiProperty({ example: EXAMPLE_CLIENT_ID })
  id!: string;

  @ApiProperty({ example: 'Ludo' })
  name!: string;

  @ApiProperty({ example: 'active', enum: CLIENT_STATUSES })
  status!: string;

  @ApiProperty({ example: ['+91'], nullable: true, type: [String] })
  allowedCountryCodes!: string[] | null;

  @ApiProperty({ example: 5000, nullable: true, type: Number })
  hourlySendBudget!: number | null;

  @ApiProperty({ example: 'Ludo King', nullable: true, type: String })
  senderName!: string | null;

  @ApiProperty({ example: null, nullable: true, type: String })
  messageTemplate!: string | null;

  @ApiProperty({
    example: EXAMPLE_TEMPLATES,
    nullable: true,
    type: 'object',
    additionalProperties: { type: 'string' },
  })
  messageTemplates!: Record<string, string> | null;

  @ApiProperty({ example: null, nullable: true, type: String })
  androidAppHash!: string | null;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  updatedAt!: string;

  @ApiProperty({ type: [ClientKeyResponse], example: [] })
  keys!: ClientKeyResponse[];
}

export class IssuedKeyResponse {
  @ApiProperty({ example: '3f9a1c0e5b7d' })
  kid!: string;

  @ApiProperty({ example: 'HS256', enum: KEY_ALGORITHMS })
  algorithm!: string;

  @ApiPropertyOptional({
    example: 'q2V0c2VjcmV0LXNob3duLW9uY2UtMzItYnl0ZXMtaGVyZQ',
    description: 'HS256 only: the signing secret, shown this once.',
  })
  secret?: string;
}

export class ApiSecretResponse {
  @ApiProperty({
    example: 'ols_7Yc2…',
    description: 'The x-client-secret of the /s2s API, shown this once.',
  })
  apiSecret!: string;
}

export class CreatedClientResponse extends ApiSecretResponse {
  @ApiProperty({ type: ClientResponse, example: { id: EXAMPLE_CLIENT_ID, name: 'Ludo' } })
  client!: ClientResponse;

  @ApiProperty({ type: IssuedKeyResponse, example: { kid: '3f9a1c0e5b7d', algorithm: 'HS256' } })
  jwtKey!: IssuedKeyResponse;

  @ApiProperty({
    type: IssuedAppKeyResponse,
    example: { id: 'ak_3f9a1c0e5b7d2a41', appKey: 'olk_Xw2…' },
    description: 'Its first app key (x-api-key of /api/v1), shown this once.',
  })
  appKey!: IssuedAppKeyResponse;
}

export class ClientPageResponse {
  @ApiProperty({ type: [ClientResponse], example: [] })
  items!: ClientResponse[];

  @ApiProperty({ example: null, nullable: true, type: String })
  nextCursor!: string | null;
}
