import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { IsPrintable } from '@app/common';
import { AUDIT_ACTORS, AUDIT_EVENTS, type AuditEventName } from '@app/audit';
import { PageQueryDto } from './client.dto';

export class LinksQueryDto extends PageQueryDto {
  @ApiPropertyOptional({
    example: '+919876543219',
    description: 'A phone in E.164: its links in every client. Or give clientId (and userId).',
  })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  @IsPrintable()
  phone?: string;

  @ApiPropertyOptional({ example: 'd5b2e760-1b6c-4296-a89f-1da0ffe8c414' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @IsPrintable()
  clientId?: string;

  @ApiPropertyOptional({ example: 'qwerty' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  @IsPrintable()
  userId?: string;
}

export class AuditQueryDto extends LinksQueryDto {
  @ApiPropertyOptional({ example: 'linked', enum: AUDIT_EVENTS })
  @IsOptional()
  @IsIn(AUDIT_EVENTS)
  event?: AuditEventName;

  @ApiPropertyOptional({ example: '2026-12-01T00:00:00Z', description: 'From this time on.' })
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;

  @ApiPropertyOptional({ example: '2026-12-02T00:00:00Z', description: 'Before this time.' })
  @IsOptional()
  @IsISO8601({ strict: true })
  until?: string;
}

export class LinkResponse {
  @ApiProperty({ example: 'd5b2e760-1b6c-4296-a89f-1da0ffe8c414' })
  clientId!: string;

  @ApiProperty({ example: 'qwerty' })
  userId!: string;

  @ApiProperty({
    example: '0x4C5874998bE398BD7EA29bBb21FFf7506aDf639D',
    nullable: true,
    type: String,
  })
  walletAddress!: string | null;

  @ApiProperty({ example: '+919876543219' })
  phone!: string;

  @ApiProperty({ example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  phoneUserId!: string;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  linkedAt!: string;
}

export class LinkPageResponse {
  @ApiProperty({ type: [LinkResponse], example: [] })
  items!: LinkResponse[];

  @ApiProperty({ example: null, nullable: true, type: String })
  nextCursor!: string | null;
}

export class AdminUnlinkResponse {
  @ApiProperty({ example: 'Users unlinked successfully' })
  message!: string;

  @ApiProperty({ example: '+919876543219' })
  phone!: string;
}

export class AuditEventResponse {
  @ApiProperty({ example: '1042' })
  id!: string;

  @ApiProperty({ example: 'linked', enum: AUDIT_EVENTS })
  event!: string;

  @ApiProperty({ example: 'admin', enum: AUDIT_ACTORS, nullable: true, type: String })
  actor!: string | null;

  @ApiProperty({ example: 'd5b2e760-1b6c-4296-a89f-1da0ffe8c414', nullable: true, type: String })
  clientId!: string | null;

  @ApiProperty({ example: 'qwerty', nullable: true, type: String })
  userId!: string | null;

  @ApiProperty({ example: '+91******219', nullable: true, type: String })
  phone!: string | null;

  @ApiProperty({ example: '203.0.113.7', nullable: true, type: String })
  ip!: string | null;

  @ApiProperty({ example: '2f1c…', nullable: true, type: String })
  challengeId!: string | null;

  @ApiProperty({ example: null, nullable: true, type: String })
  detail!: string | null;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  at!: string;
}

export class AuditPageResponse {
  @ApiProperty({ type: [AuditEventResponse], example: [] })
  items!: AuditEventResponse[];

  @ApiProperty({ example: null, nullable: true, type: String })
  nextCursor!: string | null;
}

export class MessagesQueryDto {
  @ApiPropertyOptional({
    example: '2f1c6b0e-8d4a-4c1e-9a8e-3f0d2b7c5a11',
    description: "A code's challenge id (authCode's challenge, in the audit trail). Or give phone.",
  })
  @IsOptional()
  @IsUUID()
  challengeId?: string;

  @ApiPropertyOptional({ example: '+919876543219', description: 'A phone in E.164.' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  @IsPrintable()
  phone?: string;
}

export class DeliveryStatusResponse {
  @ApiProperty({ example: 'delivered' })
  status!: string;

  @ApiProperty({ example: null, nullable: true, type: String })
  errorCode!: string | null;

  @ApiProperty({ example: '2026-12-01T10:00:03.000Z' })
  at!: string;
}

export class MessageResponse {
  @ApiProperty({ example: '0b7e2c4a-5d1f-4f7a-8c2e-6a9b3d1e4f20' })
  messageId!: string;

  @ApiProperty({ example: '2f1c6b0e-8d4a-4c1e-9a8e-3f0d2b7c5a11', nullable: true, type: String })
  challengeId!: string | null;

  @ApiProperty({ example: 'sms', enum: ['sms', 'whatsapp', 'voice', 'email', 'telegram'] })
  channel!: string;

  @ApiProperty({ example: '+91******219', description: 'The recipient, masked.' })
  to!: string;

  @ApiProperty({
    example: 'sent',
    enum: ['pending', 'sent', 'failed', 'expired', 'superseded', 'held'],
  })
  status!: string;

  @ApiProperty({ example: null, nullable: true, type: String, description: 'Fallback of.' })
  fallbackOf!: string | null;

  @ApiProperty({ example: 'SM0123456789abcdef0123456789abcdef', nullable: true, type: String })
  providerMessageId!: string | null;

  @ApiProperty({ example: 'delivered', nullable: true, type: String })
  deliveryStatus!: string | null;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-12-01T10:00:01.000Z', nullable: true, type: String })
  sentAt!: string | null;

  @ApiProperty({
    type: [DeliveryStatusResponse],
    description: 'Oldest first.',
    example: [{ status: 'delivered', errorCode: null, at: '2026-12-01T10:00:03.000Z' }],
  })
  deliveryStatuses!: DeliveryStatusResponse[];
}

export class MessagesResponse {
  @ApiProperty({ type: [MessageResponse], example: [] })
  items!: MessageResponse[];
}
