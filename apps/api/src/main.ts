import { ConfigError, loadConfig, readEnvironment } from '@app/config';
import { createLogger, describeError } from '@app/common';
import { DataDirInUseError } from '@app/database';
import type { Server } from 'node:net';
import { createApp } from './bootstrap';
import { listenInternal } from './internal-port';
import { SHUTDOWN_DEADLINE_MS, SHUTDOWN_GRACE_MS } from './shutdown-timing';

/** A startup failure whose message says it all: printed as one line, without a stack. */
class StartupError extends Error {}

/** What to tell the operator when the port cannot be opened; undefined for anything else. */
function listenProblem(error: unknown, port: number, name = 'PORT'): string | undefined {
  switch ((error as { code?: unknown }).code) {
    case 'EADDRINUSE':
      return `${name} ${port} is already in use: stop what listens there, or set ${name} to a free port`;
    case 'EACCES':
      return `${name} ${port} may not be opened by this user: set ${name} to 1024 or above`;
    default:
      return undefined;
  }
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(readEnvironment());
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const logger = createLogger(config.logLevel);
  const app = await createApp(config, logger);
  try {
    await app.listen({ port: config.port, host: '0.0.0.0' });
  } catch (error) {
    const problem = listenProblem(error, config.port);
    if (!problem) throw error;
    await app.close().catch(() => undefined);
    throw new StartupError(problem);
  }
  const internalPort = config.http.internalPort;
  let internal: Server | undefined;
  if (internalPort !== undefined) {
    try {
      internal = await listenInternal(app, internalPort, '0.0.0.0');
    } catch (error) {
      const problem = listenProblem(error, internalPort, 'INTERNAL_PORT');
      if (!problem) throw error;
      await app.close().catch(() => undefined);
      throw new StartupError(problem);
    }
  }
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    {
      port,
      ...(internalPort !== undefined ? { internalPort } : {}),
      database: config.database.url ? 'postgresql' : 'embedded',
    },
    'otp-link listening',
  );

  // Stop accepting, let in-flight requests finish, close the pool, exit 0. A second signal or
  // the deadline forces the exit.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    internal?.close();
    setTimeout(() => {
      logger.warn('closing connections still open after the grace period');
      app.getHttpServer().closeAllConnections();
    }, SHUTDOWN_GRACE_MS).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: describeError(error) }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  // A known condition needs its message, not a stack.
  const detail =
    error instanceof DataDirInUseError || error instanceof StartupError ? error.message : undefined;
  process.stderr.write(
    `otp-link failed to start: ${detail ?? (error instanceof Error ? error.stack : String(error))}\n`,
  );
  process.exit(1);
});
