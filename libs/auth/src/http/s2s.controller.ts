import { Controller, Delete, Get, Param, Req, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiErrors, ErrorCode, TextParamPipe } from '@app/common';
import type { RegisteredClient } from '@app/partners';
import { PhoneLinkFlow } from '@app/phone-link';
import { PartnerClientOf, PartnerSecretGuard } from './partner-secret.guard';
import { LinkedMobileNumberResponse, UnlinkResponse } from '../dto/responses.dto';

const USER_ID = new TextParamPipe(256);
const S2S_ERRORS = [
  ErrorCode.Unauthorized,
  ErrorCode.ValidationFailed,
  ErrorCode.RecordNotFound,
  ErrorCode.Unavailable,
];

/**
 * For partner backends: the link of one of their own users (a user of another client is simply
 * not found), and removing it. Same answers as the frontend's linked-mobile-number.
 */
@ApiTags('partner backends')
// Both headers at once (one requirement object); two decorators would mean either one.
@ApiSecurity({ clientId: [], clientSecret: [] })
@UseGuards(PartnerSecretGuard)
@Controller('s2s/users/:userId/link')
export class PartnerLinksController {
  constructor(private readonly flow: PhoneLinkFlow) {}

  @Get()
  @ApiOperation({ summary: "One of the client's users: its link" })
  @ApiOkResponse({ type: LinkedMobileNumberResponse })
  @ApiErrors(...S2S_ERRORS)
  link(@PartnerClientOf() client: RegisteredClient, @Param('userId', USER_ID) userId: string) {
    return this.flow.linkOf(client.id, userId);
  }

  @Delete()
  @ApiOperation({ summary: "Remove the link of one of the client's users (audited)" })
  @ApiOkResponse({ type: UnlinkResponse })
  @ApiErrors(...S2S_ERRORS)
  unlink(
    @PartnerClientOf() client: RegisteredClient,
    @Param('userId', USER_ID) userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.flow.unlink(client.id, userId, { actor: 'partner', ip: request.ip });
  }
}
