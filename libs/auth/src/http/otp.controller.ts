import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Post,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '@app/config';
import { PhoneLinkFlow } from '@app/phone-link';
import { LOCALES } from '@app/notifications';
import type { ThirdPartyUser } from '../jwt/third-party-user';
import { PartnerJwtGuard, PartnerUser } from './partner-jwt.guard';
import { ApiErrors, ErrorCode, PHONE_NUMBER_PATTERN } from '@app/common';
import { PartnerDirectory } from '@app/partners';
import { VerificationTokens } from '@app/sessions';
import { OtpConfigQueryDto } from '../dto/otp-config-query.dto';
import { RegisterOtpDto, ResendOtpDto } from '../dto/request-otp.dto';
import { VerifyOtpDto } from '../dto/verify-otp.dto';
import {
  LinkedMobileNumberResponse,
  OtpConfigResponse,
  OtpSentResponse,
  UnlinkResponse,
  VerifyResponse,
} from '../dto/responses.dto';

const COMMON_ERRORS = [
  ErrorCode.ValidationFailed,
  ErrorCode.Unauthorized,
  ErrorCode.CountryNotAllowed,
  ErrorCode.InvalidPhone,
  ErrorCode.AccountAlreadyLinked,
  ErrorCode.PhoneAlreadyLinked,
  ErrorCode.RateLimited,
  ErrorCode.PayloadTooLarge,
  ErrorCode.Unavailable,
];

/** The frontend OTP API (spec §3), for apps holding a partner JWT. */
@ApiTags('frontend: phone link')
@ApiSecurity('partnerJwt')
@ApiHeader({
  name: 'user-jwt-token',
  required: false,
  description: 'Partner JWT (or Authorization: Bearer)',
})
@UseGuards(PartnerJwtGuard)
@Controller('fe/users')
export class OtpController {
  constructor(
    private readonly flow: PhoneLinkFlow,
    private readonly verificationTokens: VerificationTokens,
  ) {}

  @Post('auth/otp/register')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send a code to a phone (reuses the live challenge as a resend)' })
  @ApiOkResponse({ type: OtpSentResponse })
  @ApiErrors(
    ...COMMON_ERRORS,
    ErrorCode.ResendTooSoon,
    ErrorCode.PhoneUndeliverable,
    ErrorCode.ChannelNotAvailable,
  )
  register(
    @PartnerUser() user: ThirdPartyUser,
    @Body() body: RegisterOtpDto,
    @Req() request: FastifyRequest,
  ) {
    return this.flow.requestCode(user, codeRequestOf(body, request), request.ip);
  }

  @Post('auth/otp/resend')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send a fresh code for the live challenge (or start one)' })
  @ApiOkResponse({ type: OtpSentResponse })
  @ApiErrors(
    ...COMMON_ERRORS,
    ErrorCode.ResendTooSoon,
    ErrorCode.PhoneUndeliverable,
    ErrorCode.ChannelNotAvailable,
  )
  resend(
    @PartnerUser() user: ThirdPartyUser,
    @Body() body: ResendOtpDto,
    @Req() request: FastifyRequest,
  ) {
    return this.flow.requestCode(user, codeRequestOf(body, request), request.ip);
  }

  @Post('auth/otp/verify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Check the code and link the user to the phone identity' })
  @ApiOkResponse({ type: VerifyResponse })
  @ApiErrors(
    ...COMMON_ERRORS,
    ErrorCode.OtpNotFound,
    ErrorCode.InvalidOtp,
    ErrorCode.OtpExpired,
    ErrorCode.TooManyAttempts,
  )
  async verify(
    @PartnerUser() user: ThirdPartyUser,
    @Body() body: VerifyOtpDto,
    @Req() request: FastifyRequest,
  ) {
    const { answer, link } = await this.flow.verify(
      user,
      { ...phoneOf(body), authCode: body.authCode, otp: body.otp },
      request.ip,
    );
    // APP-AUTH.md: proof of the link a partner backend verifies offline with the JWKS; the link
    // as the verify's own transaction made (or found) it, not read again after.
    const verificationToken = await this.verificationTokens.issue({
      clientId: user.clientId,
      userId: user.userId,
      ...link,
    });
    return verificationToken === undefined ? answer : { ...answer, verificationToken };
  }

  @Get('account/linked-mobile-number')
  @ApiOperation({ summary: "The caller's own link" })
  @ApiOkResponse({ type: LinkedMobileNumberResponse })
  @ApiErrors(
    ErrorCode.Unauthorized,
    ErrorCode.RecordNotFound,
    ErrorCode.RateLimited,
    ErrorCode.Unavailable,
  )
  linkedMobileNumber(@PartnerUser() user: ThirdPartyUser) {
    return this.flow.linkOf(user.clientId, user.userId);
  }

  @Delete('account/linked-mobile-number')
  @ApiOperation({
    summary:
      "Remove the caller's own link (audited); the phone identity stays and can be linked again",
  })
  @ApiOkResponse({ type: UnlinkResponse })
  @ApiErrors(
    ErrorCode.Unauthorized,
    ErrorCode.RecordNotFound,
    ErrorCode.RateLimited,
    ErrorCode.Unavailable,
  )
  unlink(@PartnerUser() user: ThirdPartyUser, @Req() request: FastifyRequest) {
    return this.flow.unlink(user.clientId, user.userId, { actor: 'user', ip: request.ip });
  }
}

/** What a frontend needs to render the form (no token needed). */
@ApiTags('frontend: phone link')
@Controller('fe/users/auth/otp')
export class OtpConfigController {
  private readonly answer: OtpConfigResponse;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly flow: PhoneLinkFlow,
    private readonly directory: PartnerDirectory,
  ) {
    const { policy } = flow;
    this.answer = {
      otpLength: policy.codeLength,
      expiresIn: policy.ttlSeconds,
      resendAfter: policy.resendCooldownSeconds,
      maxAttempts: policy.maxAttempts,
      allowedCountryCodes: config.allowedCountryCodes,
      allCountriesAllowed: config.allowedCountryCodes.length === 0,
      countryCodePattern: '^\\+?\\d{1,3}$',
      phoneNumberPattern: PHONE_NUMBER_PATTERN.source,
      channels: flow.channels,
      locales: [...LOCALES],
    };
  }

  @Get('config')
  @ApiOperation({
    summary:
      "Code length, lifetime, cooldown, attempts and allowed countries (a registered client's own with ?clientId=)",
  })
  @ApiOkResponse({ type: OtpConfigResponse })
  @ApiErrors(ErrorCode.ValidationFailed, ErrorCode.RateLimited, ErrorCode.Unavailable)
  async config(@Query() query: OtpConfigQueryDto): Promise<OtpConfigResponse> {
    const client = query.clientId ? await this.directory.find(query.clientId) : undefined;
    if (!client) return this.answer;
    const allowed = this.flow.allowedCountryCodes(client);
    return {
      ...this.answer,
      allowedCountryCodes: allowed ?? [],
      allCountriesAllowed: allowed === undefined,
    };
  }
}

/** Register's and resend's body as the flow takes it, with the request's Accept-Language. */
function codeRequestOf(body: RegisterOtpDto, request: FastifyRequest) {
  return {
    ...phoneOf(body),
    channel: body.channel,
    locale: body.locale,
    acceptLanguage: request.headers['accept-language'],
  };
}

function phoneOf(body: { countryCode: string; phone_number: string }) {
  return { countryCode: body.countryCode, phoneNumber: body.phone_number };
}
