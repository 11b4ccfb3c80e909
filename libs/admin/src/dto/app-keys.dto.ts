import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional, IsString, MaxLength } from 'class-validator';

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
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  origins!: string[] | null;
}
