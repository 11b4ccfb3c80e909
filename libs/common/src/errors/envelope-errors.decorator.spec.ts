import { Controller, Get, Post, type INestApplication } from '@nestjs/common';
import { FastifyAdapter, RouteConfig } from '@nestjs/platform-fastify';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import { Test } from '@nestjs/testing';
import type { FastifyInstance } from 'fastify';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { AppError } from './app-error';
import { ErrorCode } from './error-code';
import type { ErrorEnvelope } from './error-response';
import { EnvelopeErrors } from './envelope-errors.decorator';

const envelope: ErrorEnvelope = (response) => ({
  status: response.status,
  headers: response.headers,
  body: { wrapped: response.body.error },
});

/** A route's own envelope, which the controller's does not replace. */
const own: ErrorEnvelope = (response) => ({
  status: response.status,
  headers: response.headers,
  body: { own: response.body.error },
});

@EnvelopeErrors(envelope)
@Controller('enveloped')
class EnvelopedController {
  @Get('refused')
  refused(): never {
    throw new AppError(ErrorCode.RateLimited);
  }

  // A route with a config of its own keeps it.
  @Post('own-config')
  @RouteConfig({ label: 'kept' })
  ownConfig(): { ok: true } {
    return { ok: true };
  }

  @Get('own-envelope')
  @RouteConfig({ errorEnvelope: own })
  ownEnvelope(): never {
    throw new AppError(ErrorCode.RateLimited);
  }

  /** Not a route: left alone. */
  helper(): string {
    return 'helper';
  }
}

@Controller('plain')
class PlainController {
  @Get('refused')
  refused(): never {
    throw new AppError(ErrorCode.RateLimited);
  }
}

describe('EnvelopeErrors', () => {
  let app: INestApplication;
  let fastify: FastifyInstance;

  beforeAll(async () => {
    const module = await Test.createTestingModule({
      controllers: [EnvelopedController, PlainController],
    }).compile();
    app = module.createNestApplication(new FastifyAdapter(), { logger: false });
    app.useGlobalFilters(new AllExceptionsFilter());
    await app.init();
    fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
    await fastify.ready();
  });

  afterAll(() => app.close());

  it("answers the errors of every route of the controller in the envelope, Fastify's own too", async () => {
    const refused = await fastify.inject({ method: 'GET', url: '/enveloped/refused' });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({ wrapped: 'RATE_LIMITED' });

    // The body parser fails before any handler runs: the route's config still shapes it.
    const badJson = await fastify.inject({
      method: 'POST',
      url: '/enveloped/own-config',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json()).toEqual({ wrapped: 'VALIDATION_FAILED' });
  });

  it("keeps a route's own config, leaves methods that are not routes and other controllers alone", async () => {
    const ownConfig = Reflect.getMetadata(
      FASTIFY_ROUTE_CONFIG_METADATA,
      EnvelopedController.prototype.ownConfig,
    ) as Record<string, unknown>;
    expect(ownConfig).toEqual({ label: 'kept', errorEnvelope: envelope });
    expect(
      Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, EnvelopedController.prototype.helper),
    ).toBeUndefined();
    expect(Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, EnvelopedController)).toBeUndefined();
    const ownEnvelope = await fastify.inject({ method: 'GET', url: '/enveloped/own-envelope' });
    expect(ownEnvelope.json()).toEqual({ own: 'RATE_LIMITED' });

    const plain = await fastify.inject({ method: 'GET', url: '/plain/refused' });
    expect(plain.statusCode).toBe(429);
    expect(plain.json()).toMatchObject({ statusCode: 429, error: 'RATE_LIMITED' });
  });
});
