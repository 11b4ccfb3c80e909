import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
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
  AddKeyDto,
  ApiSecretResponse,
  ClientPageResponse,
  ClientResponse,
  ClientSettingsDto,
  CreateClientDto,
  CreatedClientResponse,
  IssuedKeyResponse,
  ListClientsQueryDto,
} from '../dto/client.dto';
import {
  AdminUnlinkResponse,
  AuditPageResponse,
  AuditQueryDto,
  LinkPageResponse,
  LinksQueryDto,
  MessagesQueryDto,
  MessagesResponse,
} from '../dto/links-audit.dto';

const CLIENT_ID = new TextParamPipe(128);
const USER_ID = new TextParamPipe(256);
const KID = new TextParamPipe(64);

/** Every /admin route can answer these. */
const ADMIN_ERRORS = [ErrorCode.Unauthorized, ErrorCode.NotFound, ErrorCode.Unavailable];

/** Partner clients: registration, settings, suspension, key and secret rotation. */
@ApiTags('operators: partner clients')
@ApiSecurity('adminKey')
@UseGuards(AdminKeyGuard)
@Controller('admin/clients')
export class AdminClientsController {
  constructor(private readonly admin: AdminService) {}

  @Post()
  @ApiOperation({
    summary: 'Register a client; answers its JWT key and API secret, shown this once',
  })
  @ApiCreatedResponse({ type: CreatedClientResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.ValidationFailed, ErrorCode.Conflict)
  create(@Body() body: CreateClientDto) {
    const { publicKey, ...rest } = withoutNulls(body);
    return this.admin.createClient({ ...rest, publicKeyPem: publicKey });
  }

  @Get()
  @ApiOperation({ summary: 'Clients in registration order, a page at a time' })
  @ApiOkResponse({ type: ClientPageResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.ValidationFailed)
  list(@Query() query: ListClientsQueryDto) {
    return this.admin.listClients(query);
  }

  @Get(':clientId')
  @ApiOperation({ summary: 'One client with its keys (never a secret)' })
  @ApiOkResponse({ type: ClientResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.RecordNotFound, ErrorCode.ValidationFailed)
  get(@Param('clientId', CLIENT_ID) clientId: string) {
    return this.admin.getClient(clientId);
  }

  @Patch(':clientId')
  @ApiOperation({ summary: 'Change settings; null clears one back to the service default' })
  @ApiOkResponse({ type: ClientResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.RecordNotFound, ErrorCode.ValidationFailed)
  update(@Param('clientId', CLIENT_ID) clientId: string, @Body() body: ClientSettingsDto) {
    return this.admin.updateClient(clientId, body);
  }

  @Post(':clientId/suspend')
  @HttpCode(200)
  @ApiOperation({ summary: 'Suspend: its tokens and API secret are refused (401) at once' })
  @ApiOkResponse({ type: ClientResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.RecordNotFound, ErrorCode.ValidationFailed)
  suspend(@Param('clientId', CLIENT_ID) clientId: string) {
    return this.admin.setClientStatus(clientId, 'suspended');
  }

  @Post(':clientId/activate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Lift a suspension' })
  @ApiOkResponse({ type: ClientResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.RecordNotFound, ErrorCode.ValidationFailed)
  activate(@Param('clientId', CLIENT_ID) clientId: string) {
    return this.admin.setClientStatus(clientId, 'active');
  }

  @Post(':clientId/keys')
  @ApiOperation({
    summary:
      'Rotate, step one: a new JWT key (HS256 secret shown once, or the given public key); the old ones stay valid',
  })
  @ApiCreatedResponse({ type: IssuedKeyResponse })
  @ApiErrors(
    ...ADMIN_ERRORS,
    ErrorCode.RecordNotFound,
    ErrorCode.ValidationFailed,
    ErrorCode.Conflict,
  )
  addKey(@Param('clientId', CLIENT_ID) clientId: string, @Body() body: AddKeyDto) {
    const { publicKey, algorithm } = withoutNulls(body);
    return this.admin.rotateKey(clientId, { publicKeyPem: publicKey, algorithm });
  }

  @Post(':clientId/keys/:kid/retire')
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate, step two: the key stops verifying tokens' })
  @ApiOkResponse({ type: ClientResponse })
  @ApiErrors(
    ...ADMIN_ERRORS,
    ErrorCode.RecordNotFound,
    ErrorCode.ValidationFailed,
    ErrorCode.Conflict,
  )
  retireKey(@Param('clientId', CLIENT_ID) clientId: string, @Param('kid', KID) kid: string) {
    return this.admin.retireKey(clientId, kid);
  }

  @Post(':clientId/api-secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'A new /s2s API secret, shown once; the old one stops working' })
  @ApiOkResponse({ type: ApiSecretResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.RecordNotFound, ErrorCode.ValidationFailed)
  rotateApiSecret(@Param('clientId', CLIENT_ID) clientId: string) {
    return this.admin.rotateApiSecret(clientId);
  }
}

/** Links and the audit trail. */
@ApiTags('operators: links and audit')
@ApiSecurity('adminKey')
@UseGuards(AdminKeyGuard)
@Controller('admin')
export class AdminLinksController {
  constructor(private readonly admin: AdminService) {}

  @Get('links')
  @ApiOperation({
    summary: "A phone's links in every client, one partner user's link, or a client's links",
  })
  @ApiOkResponse({ type: LinkPageResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.ValidationFailed)
  links(@Query() query: LinksQueryDto) {
    return this.admin.findLinks(query);
  }

  @Delete('links/:clientId/:userId')
  @ApiOperation({ summary: "Remove a partner user's link (audited as done by an operator)" })
  @ApiOkResponse({ type: AdminUnlinkResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.RecordNotFound, ErrorCode.ValidationFailed)
  unlink(@Param('clientId', CLIENT_ID) clientId: string, @Param('userId', USER_ID) userId: string) {
    return this.admin.unlink(clientId, userId);
  }

  @Get('messages')
  @ApiOperation({
    summary:
      "A code's messages (challengeId) or a phone's, newest first: channel, status, provider id, each delivery status with its time",
  })
  @ApiOkResponse({ type: MessagesResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.ValidationFailed)
  messages(@Query() query: MessagesQueryDto) {
    return this.admin.listMessages(query);
  }

  @Get('audit')
  @ApiOperation({ summary: 'Audit events matching every filter given, newest first' })
  @ApiOkResponse({ type: AuditPageResponse })
  @ApiErrors(...ADMIN_ERRORS, ErrorCode.ValidationFailed)
  audit(@Query() query: AuditQueryDto) {
    const { since, until, ...rest } = query;
    return this.admin.searchAudit({
      ...rest,
      since: since === undefined ? undefined : new Date(since),
      until: until === undefined ? undefined : new Date(until),
    });
  }
}

/**
 * On creation a null is the same as leaving the field out (there is nothing to clear yet);
 * only a change gives null its meaning, "back to the default".
 */
function withoutNulls<T extends object>(body: T): { [K in keyof T]: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null)) as {
    [K in keyof T]: Exclude<T[K], null>;
  };
}
