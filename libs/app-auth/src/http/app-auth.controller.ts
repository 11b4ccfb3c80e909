import { Body, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { AppError, EnvelopeErrors, ErrorCode } from '@app/common';
import { AccessTokens, SessionStore } from '@app/sessions';
import { AppAuthFlow } from '../app-auth.flow';
import { AppAuthRepository } from '../app-auth.repository';
import {
  LoggedOutResponse,
  PhoneOtpDto,
  PhoneOtpSentResponse,
  RefreshedResponse,
  SignedInResponse,
  UserFromTokenResponse,
  VerifyPhoneOtpDto,
} from '../dto/app-auth.dto';
import { ApiAppErrors, appAuthEnvelope, success } from './app-auth-envelope';
import { AppJwtGuard, AppUser } from './app-jwt.strategy';
import { AppKeyGuard, AppRequest } from './app-key.guard';

const KEY_ERRORS = [
  ErrorCode.InvalidApiKey,
  ErrorCode.OriginNotAllowed,
  ErrorCode.RateLimited,
  ErrorCode.Unavailable,
];

/** `Bearer <token>` of a header, or undefined. */
function bearer(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer ([^\s]+)$/.exec(value);
  return match?.[1];
}

function clientOf(request: AppRequest) {
  if (!request.appClient) throw new AppError(ErrorCode.InvalidApiKey);
  return request.appClient;
}

/** The app sign-in API, Okto-compatible (APP-AUTH.md). */
@ApiTags('apps: sign in with a phone code')
@ApiSecurity('appKey')
@ApiHeader({ name: 'x-api-key', required: true, description: "The client's app key" })
@UseGuards(AppKeyGuard)
@EnvelopeErrors(appAuthEnvelope)
@Controller('api/v1')
export class AppAuthController {
  constructor(
    private readonly flow: AppAuthFlow,
    private readonly sessions: SessionStore,
    private readonly tokens: AccessTokens,
    private readonly repository: AppAuthRepository,
  ) {}

  @Post('authenticate/phone')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send a sign-in code to a phone' })
  @ApiOkResponse({ type: PhoneOtpSentResponse })
  @ApiAppErrors(
    ...KEY_ERRORS,
    ErrorCode.ValidationFailed,
    ErrorCode.InvalidPhone,
    ErrorCode.CountryNotAllowed,
    ErrorCode.ResendTooSoon,
    ErrorCode.PhoneUndeliverable,
  )
  async sendCode(@Body() body: PhoneOtpDto, @Req() request: AppRequest) {
    const token = await this.flow.requestCode(
      clientOf(request),
      { phoneNumber: body.phone_number, countryShortName: body.country_short_name },
      request.ip,
    );
    return success({
      status: 'success',
      message: 'phone otp sent',
      code: 200,
      token,
      trace_id: String(request.id),
    });
  }

  @Post('authenticate/phone/verify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Check the code; the right one signs the user in (a new session)' })
  @ApiOkResponse({ type: SignedInResponse })
  @ApiAppErrors(
    ...KEY_ERRORS,
    ErrorCode.ValidationFailed,
    ErrorCode.InvalidPhone,
    ErrorCode.OtpNotFound,
    ErrorCode.InvalidOtp,
    ErrorCode.OtpExpired,
    ErrorCode.TooManyAttempts,
  )
  async verify(@Body() body: VerifyPhoneOtpDto, @Req() request: AppRequest) {
    const signedIn = await this.flow.verify(
      clientOf(request),
      {
        phoneNumber: body.phone_number,
        countryShortName: body.country_short_name,
        otp: body.otp,
        token: body.token,
      },
      request.ip,
    );
    return success({
      auth_token: signedIn.authToken,
      message: 'success',
      refresh_auth_token: signedIn.refreshToken,
      device_token: signedIn.deviceToken,
      trace_id: String(request.id),
    });
  }

  @Post('refresh_token')
  @HttpCode(200)
  @ApiBearerAuth('appToken')
  @ApiHeader({
    name: 'x-refresh-authorization',
    required: true,
    description: 'Bearer <refresh_auth_token>',
  })
  @ApiHeader({ name: 'x-device-token', required: true, description: 'The device_token' })
  @ApiOperation({
    summary: 'New auth and refresh tokens; the refresh token works once (a reuse ends the session)',
  })
  @ApiOkResponse({ type: RefreshedResponse })
  @ApiAppErrors(...KEY_ERRORS, ErrorCode.InvalidToken, ErrorCode.InvalidRefreshToken)
  async refresh(@Req() request: AppRequest) {
    const client = clientOf(request);
    // The auth token may be expired, but must be ours, for this client, and name its session.
    const claims = await this.tokens
      .verify(bearer(request.headers.authorization), client.id, { allowExpired: true })
      .catch(() => {
        throw new AppError(ErrorCode.InvalidToken);
      });
    const refreshToken = bearer(request.headers['x-refresh-authorization']);
    const deviceToken = request.headers['x-device-token'];
    if (refreshToken === undefined || typeof deviceToken !== 'string') {
      throw new AppError(ErrorCode.InvalidRefreshToken);
    }
    const session = await this.sessions.state(claims.sid);
    if (!session || session.clientId !== client.id) throw new AppError(ErrorCode.InvalidToken);
    const { token } = await this.tokens.issue({
      sessionId: session.sessionId,
      clientId: client.id,
      phoneUserId: session.phoneUserId,
      phoneE164: claims.phone_number,
    });
    const result = await this.sessions.refresh({
      refreshToken,
      deviceToken,
      sessionId: claims.sid,
      attachment: token,
    });
    if (result.outcome !== 'rotated' && result.outcome !== 'repeated') {
      throw new AppError(ErrorCode.InvalidRefreshToken);
    }
    return success({
      auth_token: result.outcome === 'rotated' ? token : (result.attachment ?? token),
      refresh_auth_token: result.refreshToken,
      device_token: deviceToken,
      message: 'success',
    });
  }

  @Post('logout')
  @HttpCode(200)
  @ApiBearerAuth('appToken')
  @UseGuards(AppJwtGuard)
  @ApiOperation({ summary: 'End the session: every one of its tokens stops working at once' })
  @ApiOkResponse({ type: LoggedOutResponse })
  @ApiAppErrors(...KEY_ERRORS, ErrorCode.InvalidToken)
  async logout(@Req() request: AppRequest & { user: AppUser }) {
    const client = clientOf(request);
    await this.sessions.end({
      sessionId: request.user.session.sessionId,
      clientId: client.id,
      reason: 'logout',
    });
    return success({ message: 'success' });
  }

  @Get('user_from_token')
  @ApiBearerAuth('appToken')
  @UseGuards(AppJwtGuard)
  @ApiOperation({ summary: 'The signed-in user' })
  @ApiOkResponse({ type: UserFromTokenResponse })
  @ApiAppErrors(...KEY_ERRORS, ErrorCode.InvalidToken)
  async userFromToken(@Req() request: AppRequest & { user: AppUser }) {
    const { claims, session } = request.user;
    const createdAt = await this.repository.phoneUserCreatedAt(session.phoneUserId);
    return success({
      user_id: claims.sub,
      phone_number: claims.phone_number,
      phone_verified_at: session.createdAt.toISOString(),
      created_at: (createdAt ?? session.createdAt).toISOString(),
    });
  }
}
