import { ConfigError, loadConfig, readEnvironment } from '@app/config';
import { createLogger, describeError } from '@app/common';
import { DataDirInUseError } from '@app/database';
import { createApp } from './bootstrap';

const SHUTDOWN_DEADLINE_MS = 10_000;
/** In-flight requests get this long; then connections still open (slow clients) are cut. */
const SHUTDOWN_GRACE_MS = 8_000;

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
  await app.listen({ port: config.port, host: '0.0.0.0' });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    { port, database: config.database.url ? 'postgresql' : 'embedded' },
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
  const detail = error instanceof DataDirInUseError ? error.message : undefined;
  process.stderr.write(
    `otp-link failed to start: ${detail ?? (error instanceof Error ? error.stack : String(error))}\n`,
  );
  process.exit(1);
});
