import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PublicJwk, SigningKeys } from '@app/sessions';

/** How long verifiers may cache the key set: a rotation publishes the new key this long ahead. */
export const JWKS_MAX_AGE_SECONDS = 300;

/**
 * The public keys of our tokens (current and retiring), for any standard JOSE library: a
 * partner backend or an app verifies our tokens offline with them.
 */
@ApiTags('tokens')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeys) {}

  @Get('jwks.json')
  @Header('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
  @ApiOperation({ summary: 'The JSON Web Key Set that verifies our ES256 tokens' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: {
        keys: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              kty: { type: 'string', example: 'EC' },
              crv: { type: 'string', example: 'P-256' },
              x: { type: 'string' },
              y: { type: 'string' },
              kid: { type: 'string' },
              use: { type: 'string', example: 'sig' },
              alg: { type: 'string', example: 'ES256' },
            },
          },
        },
      },
    },
  })
  jwks(): Promise<{ keys: PublicJwk[] }> {
    return this.keys.jwks();
  }
}
