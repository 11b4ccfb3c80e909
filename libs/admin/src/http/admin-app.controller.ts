import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  UseGuards,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors, ErrorCode, TextParamPipe } from '@app/common';
import { AdminService } from '../admin.service';
import { AdminKeyGuard } from './admin-key.guard';
import {
  AllowedOriginsDto,
  AppKeysResponse,
  EndedSessionsResponse,
  EndSessionsDto,
  IssuedAppKeyResponse,
  RetiredSigningKeyResponse,
  RotatedSigningKeyResponse,
  SessionPageResponse,
  SessionsQueryDto,
  SigningKeysResponse,
} from '../dto/app-keys.dto';

const CLIENT_ID = new TextParamPipe(128);
const KEY_ID = new TextParamPipe(32);
const ADMIN_ERRORS = [ErrorCode.Unauthorized, ErrorCode.NotFound, ErrorCode.Unavailable];

/** App keys (x-api-key of the app sign-in API) and their allowed origins. */
@ApiTags('operators: app sign-in')
@ApiSecurity('adminKey')
@UseGuards(AdminKeyGuard)
@Controller('admin/clients')
export class AdminAppKeysController {
  constructor(private readonly admin: AdminService) {}

  @Post(':clientId/app-keys')
  @ApiOperation({
    summary: 'A new app key (x-api-key), shown once; the old ones stay valid until retired',
  })
  @ApiCreatedResponse({ type: IssuedAppKeyResponse })
  @ApiErrors(
    ...ADMIN_ERRORS,
    ErrorCode.RecordNotFound,
    ErrorCode.ValidationFailed,
    ErrorCode.Conflict,
  )
  issue(@Param('clientId', CLIENT_ID) clientId: string) {
    return this.admin.issueAppKey(clientId);
  }

  @Get(':clientId/app-keys')
  @ApiOperation({ summary: "A client's app keys (never the keys) and allowed origins" })
  @ApiOkResponse({ type: AppKeysResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.RecordNotFound, ErrorCode.ValidationFailed)
  list(@Param('clientId', CLIENT_ID) clientId: string) {
    return this.admin.listAppKeys(clientId);
  }

  @Post(':clientId/app-keys/:keyId/retire')
  @HttpCode(200)
  @ApiOperation({ summary: 'The app key stops working at once' })
  @ApiOkResponse({ type: AppKeysResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.RecordNotFound, ErrorCode.ValidationFailed)
  retire(@Param('clientId', CLIENT_ID) clientId: string, @Param('keyId', KEY_ID) keyId: string) {
    return this.admin.retireAppKey(clientId, keyId);
  }

  @Put(':clientId/allowed-origins')
  @ApiOperation({ summary: 'The browser origins its app keys may be used from (null: any)' })
  @ApiOkResponse({ type: AppKeysResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.RecordNotFound, ErrorCode.ValidationFailed)
  setOrigins(@Param('clientId', CLIENT_ID) clientId: string, @Body() body: AllowedOriginsDto) {
    return this.admin.setAllowedOrigins(clientId, body.origins ?? null);
  }
}

const KID = new TextParamPipe(64);

/** App sessions and the keys that sign our tokens. */
@ApiTags('operators: app sign-in')
@ApiSecurity('adminKey')
@UseGuards(AdminKeyGuard)
@Controller('admin')
export class AdminSessionsController {
  constructor(private readonly admin: AdminService) {}

  @Get('sessions')
  @ApiOperation({
    summary: "Sessions (apps' and websites', `kind`) by session, client or phone, newest first",
  })
  @ApiOkResponse({ type: SessionPageResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.ValidationFailed)
  listSessions(@Query() query: SessionsQueryDto) {
    return this.admin.listSessions(query);
  }

  @Post('sessions/end')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "End sessions at once: one (sessionId), a phone's (phone, within clientId if given) or a client's (clientId)",
  })
  @ApiOkResponse({ type: EndedSessionsResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.ValidationFailed, ErrorCode.RecordNotFound)
  endSessions(@Body() body: EndSessionsDto) {
    return this.admin.endSessions(body);
  }

  @Get('signing-keys')
  @ApiOperation({ summary: 'The keys that sign our tokens (never a private part)' })
  @ApiOkResponse({ type: SigningKeysResponse })
  @ApiErrors(...ADMIN_ERRORS)
  listSigningKeys() {
    return this.admin.listSigningKeys();
  }

  @Post('signing-keys/rotate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'A new key signs from now on; the old one stays valid until retired',
  })
  @ApiOkResponse({ type: RotatedSigningKeyResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.Conflict)
  rotateSigningKey() {
    return this.admin.rotateSigningKey();
  }

  @Post('signing-keys/:kid/retire')
  @HttpCode(200)
  @ApiOperation({ summary: 'The key leaves the JWKS; its tokens are refused from now on' })
  @ApiOkResponse({ type: RetiredSigningKeyResponse })
  @ApiErrors(
    ...ADMIN_ERRORS,
    ErrorCode.RecordNotFound,
    ErrorCode.ValidationFailed,
    ErrorCode.Conflict,
  )
  retireSigningKey(@Param('kid', KID) kid: string) {
    return this.admin.retireSigningKey(kid);
  }
}
