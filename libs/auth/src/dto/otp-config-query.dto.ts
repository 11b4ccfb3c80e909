import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';

export class OtpConfigQueryDto {
  @ApiPropertyOptional({
    example: 'd5b2e760-1b6c-4296-a89f-1da0ffe8c414',
    description:
      "A registered client's id (the tokens' third_party_client_id): its own allowed countries. Unknown ids get the service's values.",
  })
  @IsOptional()
  @Matches(/^[\x21-\x7e]{1,128}$/, { message: 'clientId must be 1-128 printable characters' })
  clientId?: string;
}
