import { Controller, Headers, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiConsumes, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ApiErrors, AppError, ErrorCode } from '@app/common';
import {
  DeliveryReceipts,
  isReceiptStatus,
  ReceiptOutcome,
  validTwilioSignature,
} from '@app/notifications';

/** Twilio's ids of a message (SM…, MM…) or a call (CA…). */
const SID = /^(SM|MM|CA)[0-9a-f]{32}$/;
const ERROR_CODE = /^\d{1,6}$/;
/** Twilio's signatures are base64 of a SHA-1 HMAC: 28 characters. */
const SIGNATURE_MAX = 128;

/**
 * Twilio's delivery receipts (StatusCallback, CHANNELS.md): with PUBLIC_URL set, every message
 * and call asks Twilio to post its status changes here. A request without a valid
 * X-Twilio-Signature (checked with the twilio package's validator and TWILIO_AUTH_TOKEN, over the
 * exact URL Twilio was given) is 403 INVALID_SIGNATURE and records nothing.
 */
@ApiTags('provider callbacks')
@Controller('hooks')
export class TwilioStatusController {
  private readonly url?: string;
  private readonly authToken?: string;
  private readonly accountSid?: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly receipts: DeliveryReceipts,
  ) {
    const { twilio, driver } = config.notify;
    if (driver === 'twilio') {
      this.url = twilio.statusCallbackUrl;
      this.authToken = twilio.authToken;
      this.accountSid = twilio.accountSid;
    }
  }

  @Post('twilio/status')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Twilio's delivery receipts (StatusCallback of messages and calls); only with PUBLIC_URL",
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiHeader({ name: 'x-twilio-signature', required: true, description: "Twilio's signature" })
  @ApiOkResponse({
    description: '`{"receipt": "recorded" | "unchanged" | "unknown"}`',
  })
  @ApiErrors(
    ErrorCode.InvalidSignature,
    ErrorCode.ValidationFailed,
    ErrorCode.NotFound,
    ErrorCode.Unavailable,
  )
  async status(
    @Req() request: FastifyRequest,
    @Headers('x-twilio-signature') signature?: string,
  ): Promise<{ receipt: ReceiptOutcome }> {
    const { url, authToken } = this;
    // Receipts are off (no PUBLIC_URL, or no Twilio driver): the route does not exist.
    if (!url || !authToken) throw new AppError(ErrorCode.NotFound);
    const params = formParams(request.body);
    if (
      !params ||
      typeof signature !== 'string' ||
      signature.length > SIGNATURE_MAX ||
      !validTwilioSignature(authToken, signature, url, params) ||
      params.AccountSid !== this.accountSid
    ) {
      throw new AppError(ErrorCode.InvalidSignature);
    }
    const providerMessageId = params.MessageSid ?? params.CallSid;
    const status = params.MessageStatus ?? params.CallStatus;
    const problems: Array<{ field: string; message: string }> = [];
    if (typeof providerMessageId !== 'string' || !SID.test(providerMessageId)) {
      problems.push({ field: 'MessageSid', message: 'MessageSid or CallSid must be a Twilio SID' });
    }
    if (typeof status !== 'string' || !isReceiptStatus(status)) {
      problems.push({ field: 'MessageStatus', message: 'MessageStatus or CallStatus is unknown' });
    }
    if (problems.length > 0) {
      throw new AppError(ErrorCode.ValidationFailed, { details: problems });
    }
    const errorCode = params.ErrorCode;
    const receipt = await this.receipts.record({
      providerMessageId,
      status,
      errorCode: errorCode && ERROR_CODE.test(errorCode) ? errorCode : undefined,
    });
    return { receipt };
  }
}

/** A form body as the form parser made it: string values only; else undefined. */
function formParams(body: unknown): Record<string, string> | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length > 100 || entries.some(([, value]) => typeof value !== 'string')) {
    return undefined;
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
