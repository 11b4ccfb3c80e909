import { PATH_METADATA } from '@nestjs/common/constants';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { ErrorEnvelope } from './error-response';

/**
 * Puts the errors of every route of a controller in `envelope`: sets it as each route's Fastify
 * config `errorEnvelope`, which AllExceptionsFilter reads (a route's own config is kept, its own
 * `errorEnvelope` too). Nest reads route config from the handler only, so a class-level
 * `@RouteConfig` would be ignored and a route added later without a decorator of its own would
 * answer in the standard shape; this reaches every route the controller declares itself (not
 * inherited ones, whose handlers a parent class shares).
 */
export function EnvelopeErrors(envelope: ErrorEnvelope): ClassDecorator {
  return (controller) => {
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      if (name === 'constructor') continue;
      const handler = Object.getOwnPropertyDescriptor(prototype, name)?.value as unknown;
      if (typeof handler !== 'function' || !Reflect.hasMetadata(PATH_METADATA, handler)) continue;
      const config = Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) as
        object | undefined;
      Reflect.defineMetadata(
        FASTIFY_ROUTE_CONFIG_METADATA,
        { errorEnvelope: envelope, ...config },
        handler,
      );
    }
  };
}
