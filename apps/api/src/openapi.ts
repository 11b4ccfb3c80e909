import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document of every controller, served at /docs (Swagger UI) and /docs-json. */
export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('otp-link')
    .setDescription(
      "Phone verification with one-time passwords, and linking of partner studios' users to one " +
        'phone identity. Every error body is {statusCode, error, message}; see the error codes ' +
        'listed per endpoint.',
    )
    .setVersion('1')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'user-jwt-token',
        description: "Partner JWT: HS256, or the registered client's RS256/ES256 key",
      },
      'partnerJwt',
    )
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'partnerBearer')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'x-client-id',
        description: 'Partner client id (/s2s)',
      },
      'clientId',
    )
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'x-client-secret',
        description: 'Partner API secret (/s2s), given once at registration',
      },
      'clientSecret',
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'x-admin-key', description: 'ADMIN_API_KEY (/admin)' },
      'adminKey',
    )
    .addBasicAuth(
      {
        type: 'http',
        scheme: 'basic',
        description: 'OTP API (OTP-API.md): the partner client id and its API secret',
      },
      'otpApiBasic',
    )
    .build();
  return SwaggerModule.createDocument(app, config);
}

export function serveOpenApi(app: NestFastifyApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
  });
}
