import { timingSafeEqual, createHash } from 'node:crypto';
import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Logger,
  Post,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBody,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '@app/config';
import { EnvelopeErrors, parseJsonBody } from '@app/common';
import { PartnerDirectory, type RegisteredClient } from '@app/partners';
import { BasicAuthGuard, OtpApiClient } from './basic-auth.guard';
import { badRequest, OtpApiError, otpApiEnvelope } from '../otp-api.errors';
import { API_CHANNELS, ApiChannel, OtpApiService, Params } from '../otp-api.service';

const OK = { status: true } as const;
const FALSE = { status: false } as const;

const STATUS_SCHEMA = {
  type: 'object',
  properties: { status: { type: 'boolean' } },
  required: ['status'],
};
const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    status: { type: 'boolean', enum: [false] },
    status_code: { type: 'string' },
    message: { type: 'string' },
  },
  required: ['status', 'message'],
};
/** POST /sms, /call, /email, /telegram: each channel reads its own of these (query or body). */
const CREATE_SCHEMA = {
  type: 'object',
  properties: {
    phone: {
      type: 'string',
      example: '77011234567',
      description: 'sms, call: digits, country code first',
    },
    email: { type: 'string', example: 'foobar@example.com', description: 'email' },
    chat_id: { type: 'string', example: '1234567890', description: 'telegram' },
    password: {
      type: 'string',
      example: '12345',
      description: 'default: OTP_LENGTH random digits',
    },
    lifetime: { type: 'integer', minimum: 1, maximum: 86400, example: 300 },
    message: { type: 'string', example: 'Your OTP is {code}', description: 'sms, telegram' },
    subject: { type: 'string', example: 'Hello', description: 'email' },
    text: { type: 'string', example: 'Your OTP is {code}', description: 'email' },
    html: { type: 'string', example: '<p>Your OTP is <b>{code}</b></p>', description: 'email' },
    ip: {
      type: 'string',
      example: '203.0.113.7',
      description: "the end user's address (IP limits)",
    },
  },
};
const RATES = {
  type: 'array',
  maxItems: 10,
  items: {
    type: 'object',
    properties: {
      minutes: { type: 'integer', minimum: 1, maximum: 1440 },
      rate: { type: 'integer', minimum: 1 },
    },
    required: ['minutes', 'rate'],
  },
};

/** The query and the JSON body merged; the body wins. */
function paramsOf(query: unknown, body: unknown): Params {
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    throw badRequest('the request body must be a JSON object');
  }
  const merged: Params = {};
  for (const [key, value] of Object.entries((query ?? {}) as Params)) {
    // A repeated query parameter is ambiguous: refused as a wrong type below.
    merged[key] = value;
  }
  return Object.assign(merged, body ?? {});
}

/**
 * The JSON body of a GET (the original image's callers send checks that way; Fastify parses no
 * GET body): read here, at most `limit` bytes, with the same parser as every other body.
 */
async function getBody(request: FastifyRequest, limit: number): Promise<unknown> {
  const raw = request.raw;
  const length = Number(raw.headers['content-length'] ?? 0);
  if (!(length > 0) && raw.headers['transfer-encoding'] === undefined) return undefined;
  // The media type as Fastify matches a POST body's: case-insensitive, parameters aside.
  const mediaType = String(raw.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (mediaType !== 'application/json') {
    throw new OtpApiError(415, { status: false, message: 'a request body must be JSON' });
  }
  if (length > limit)
    throw new OtpApiError(413, { status: false, message: 'request body is too large' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      throw new OtpApiError(413, { status: false, message: 'request body is too large' });
    }
    chunks.push(chunk);
  }
  return parseJsonBody(Buffer.concat(chunks).toString('utf8'));
}

/** The channel a route was called for: its path's first (or, for /limit, second) segment. */
function channelOf(request: FastifyRequest, index: number): ApiChannel {
  const segment = (request.routeOptions.url ?? '').split('/')[index];
  if (!(API_CHANNELS as readonly string[]).includes(segment)) throw badRequest('unknown channel');
  return segment as ApiChannel;
}

const CREATE_PATHS = API_CHANNELS.map((channel) => channel);
const CHECK_PATHS = API_CHANNELS.map((channel) => `${channel}/check`);
const LIMIT_PATHS = API_CHANNELS.map((channel) => `limit/${channel}`);

/**
 * The OTP API for partner backends (OTP-API.md, Perfumer-compatible): send a password to a phone
 * (SMS or call), an email address or a Telegram chat, check it, find a bot password's chat, and
 * the client's own limits. HTTP Basic with the client id and API secret.
 */
@ApiTags('OTP API (backends)')
@ApiBasicAuth('otpApiBasic')
@UseGuards(BasicAuthGuard)
@EnvelopeErrors(otpApiEnvelope)
@Controller()
export class OtpApiController {
  private readonly bodyLimit: number;

  constructor(
    private readonly api: OtpApiService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.bodyLimit = config.http.bodyLimitBytes;
  }

  @Post(CREATE_PATHS)
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Send a password: sms (phone, password, lifetime, message, ip), call (phone, password, lifetime, ip), email (email, password, lifetime, subject, text or html, ip), telegram (chat_id, password, lifetime, message, ip); query and JSON merged',
  })
  @ApiBody({ required: false, schema: CREATE_SCHEMA })
  @ApiOkResponse({ description: '`{"status":true}`', schema: STATUS_SCHEMA })
  @ApiResponse({
    status: 400,
    description:
      "missing or invalid field; the client's limits (`status_code` phone_limit, ip_limit, …)",
    schema: ERROR_SCHEMA,
  })
  @ApiResponse({
    status: 401,
    description: 'Basic credentials missing or wrong',
    schema: ERROR_SCHEMA,
  })
  @ApiResponse({ status: 422, description: '`status_code` undeliverable', schema: ERROR_SCHEMA })
  @ApiResponse({
    status: 429,
    description: "the service's limits: `status_code` rate_limited",
    schema: ERROR_SCHEMA,
  })
  async create(
    @OtpApiClient() client: RegisteredClient,
    @Req() request: FastifyRequest,
    @Query() query: unknown,
    @Body() body: unknown,
  ) {
    await this.api.create(client, channelOf(request, 1), paramsOf(query, body));
    return OK;
  }

  @Get(CHECK_PATHS)
  @ApiOperation({
    summary:
      'Check a password: the target field (phone, email or chat_id) and password, query or JSON; true while it is live',
  })
  @ApiOkResponse({ description: '`{"status":true}` or `{"status":false}`', schema: STATUS_SCHEMA })
  @ApiResponse({ status: 400, description: 'missing field', schema: ERROR_SCHEMA })
  @ApiResponse({
    status: 401,
    description: 'Basic credentials missing or wrong',
    schema: ERROR_SCHEMA,
  })
  async check(
    @OtpApiClient() client: RegisteredClient,
    @Req() request: FastifyRequest,
    @Query() query: unknown,
  ) {
    const body = await getBody(request, this.bodyLimit);
    return (await this.api.check(client, channelOf(request, 1), paramsOf(query, body)))
      ? OK
      : FALSE;
  }

  @Post(LIMIT_PATHS)
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Replace the client's limits of the channel: ips and phones (sms, call), emails or chat_ids, each [{minutes, rate}]",
  })
  @ApiBody({
    schema: {
      type: 'object',
      properties: { ips: RATES, phones: RATES, emails: RATES, chat_ids: RATES },
    },
  })
  @ApiOkResponse({ description: '`{"status":true}`', schema: STATUS_SCHEMA })
  @ApiResponse({ status: 400, description: 'invalid limits', schema: ERROR_SCHEMA })
  @ApiResponse({
    status: 401,
    description: 'Basic credentials missing or wrong',
    schema: ERROR_SCHEMA,
  })
  async setLimits(
    @OtpApiClient() client: RegisteredClient,
    @Req() request: FastifyRequest,
    @Query() query: unknown,
    @Body() body: unknown,
  ) {
    await this.api.setLimits(client, channelOf(request, 2), paramsOf(query, body));
    return OK;
  }

  @Get(LIMIT_PATHS)
  @ApiOperation({ summary: "The client's limits of the channel" })
  @ApiOkResponse({
    description: '`{"ips": [{"minutes": 10, "rate": 20}], "phones": [...]}`',
    schema: {
      type: 'object',
      properties: { ips: RATES, phones: RATES, emails: RATES, chat_ids: RATES },
    },
  })
  @ApiResponse({
    status: 401,
    description: 'Basic credentials missing or wrong',
    schema: ERROR_SCHEMA,
  })
  limits(@OtpApiClient() client: RegisteredClient, @Req() request: FastifyRequest) {
    return this.api.limits(client, channelOf(request, 2));
  }

  @Get('target')
  @ApiOperation({
    summary:
      "The target of a live password: channel (telegram: the bot's passwords) and password; wrong guesses count toward the IP limits",
  })
  @ApiOkResponse({
    description: '`{"status":true,"target":"<chat_id>"}` or `{"status":false}`',
    schema: {
      type: 'object',
      properties: { status: { type: 'boolean' }, target: { type: 'string' } },
    },
  })
  @ApiResponse({ status: 400, description: 'missing field', schema: ERROR_SCHEMA })
  @ApiResponse({
    status: 401,
    description: 'Basic credentials missing or wrong',
    schema: ERROR_SCHEMA,
  })
  async target(
    @OtpApiClient() client: RegisteredClient,
    @Req() request: FastifyRequest,
    @Query() query: unknown,
  ) {
    const body = await getBody(request, this.bodyLimit);
    const target = await this.api.findTarget(client, paramsOf(query, body), request.ip);
    return target === null ? FALSE : { status: true, target };
  }
}

/** The header Telegram sends the webhook's secret in. */
const SECRET_HEADER = 'x-telegram-bot-api-secret-token';
const SECRET_MAX = 256;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The Telegram bot (OTP-API.md): Telegram posts every message to the bot here; the chat gets a
 * fresh 8-digit password (sendMessage) that the partner's site takes and checks with GET /target.
 * Without `X-Telegram-Bot-Api-Secret-Token` equal to TELEGRAM_WEBHOOK_SECRET: 403, nothing done.
 * And GET /password of the original image, which is not offered: 410.
 */
@ApiTags('OTP API (backends)')
@EnvelopeErrors(otpApiEnvelope)
@Controller()
export class TelegramWebhookController {
  private readonly logger = new Logger(TelegramWebhookController.name);
  private readonly secret?: Buffer;
  private readonly botClientId?: string;

  constructor(
    private readonly api: OtpApiService,
    private readonly directory: PartnerDirectory,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const secret = config.notify.telegram.webhookSecret;
    this.secret = secret ? digest(secret) : undefined;
    this.botClientId = config.notify.telegram.botClientId;
  }

  @Post('telegram/webhook')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Telegram's updates to the bot (setWebhook with secret_token): answers the chat with a fresh password",
  })
  @ApiHeader({ name: SECRET_HEADER, required: true, description: 'TELEGRAM_WEBHOOK_SECRET' })
  @ApiBody({ schema: { type: 'object', additionalProperties: true } })
  @ApiOkResponse({ description: '`{"status":true}`', schema: STATUS_SCHEMA })
  @ApiResponse({ status: 403, description: 'secret token missing or wrong', schema: ERROR_SCHEMA })
  async webhook(@Headers(SECRET_HEADER) token: unknown, @Body() update: unknown) {
    if (
      !this.secret ||
      typeof token !== 'string' ||
      token.length > SECRET_MAX ||
      !timingSafeEqual(digest(token), this.secret)
    ) {
      throw new OtpApiError(403, { status: false, message: 'forbidden' });
    }
    const chatId = chatOf(update);
    if (chatId === undefined) return OK; // not a message to the bot: nothing to answer
    const client = this.botClientId ? await this.directory.find(this.botClientId) : undefined;
    try {
      await this.api.botPassword(chatId, client?.status === 'active' ? client : undefined);
    } catch (error) {
      // Telegram retries an update it gets an error for; a refused or failed one stays refused.
      this.logger.warn(
        { err: error instanceof Error ? error.message : 'unknown' },
        'the bot could not give a password',
      );
    }
    return OK;
  }

  @Get('password')
  @ApiOperation({ summary: 'Not offered: passwords are never stored readably (410)' })
  @ApiResponse({ status: 410, description: 'always', schema: ERROR_SCHEMA })
  password(): never {
    throw new OtpApiError(410, { status: false, message: 'passwords are not stored readably' });
  }
}

/**
 * The private chat of a message to the bot (`message.chat.id`), if the update is one. A group,
 * supergroup or channel (`chat.type`, negative ids) gets no password: everyone in it would read it.
 */
export function chatOf(update: unknown): string | undefined {
  const message = (update as { message?: { chat?: { id?: unknown; type?: unknown } } } | null)
    ?.message;
  if (message?.chat?.type !== 'private') return undefined;
  const id = message.chat.id;
  // A private chat's id is the user's: positive.
  if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return String(id);
  if (typeof id === 'string' && /^[1-9]\d{0,15}$/.test(id)) return id;
  return undefined;
}
