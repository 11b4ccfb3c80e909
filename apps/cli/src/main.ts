import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { AppConfig, ConfigError, ConfigModule, loadConfig, readEnvironment } from '@app/config';
import { CommonModule, createLogger, isDatabaseUnavailable, PinoNestLogger } from '@app/common';
import { askDataDirHolder, DatabaseModule, DataDirInUseError, isDataDirHeld } from '@app/database';
import { AuditModule } from '@app/audit';
import { AdminModule, AdminService, CliResult, EXIT, runAdminCli } from '@app/admin';
import { SCHEMA } from '@app/migrations';

/** How long a forwarded command may take in the server that holds the embedded database. */
const FORWARD_TIMEOUT_MS = 60_000;

/** The operators' CLI: the admin tools without HTTP. */
@Module({})
class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        CommonModule.forRoot(),
        // One try: a CLI reports an unreachable database at once (exit 5) instead of retrying.
        DatabaseModule.forRoot(SCHEMA, { retryAttempts: 0 }),
        AuditModule,
        AdminModule,
      ],
    };
  }
}

/** Help needs no database. */
function wantsHelpOnly(argv: string[]): boolean {
  return argv.length === 0 || argv.includes('--help') || argv.includes('-h');
}

async function run(argv: string[]): Promise<CliResult> {
  const config = loadConfig(readEnvironment());
  const context = { cwd: process.cwd() };
  if (wantsHelpOnly(argv)) {
    return runAdminCli(argv, () => Promise.reject(new Error('no command')), context);
  }
  // The running server holds the embedded database: it runs the command for us.
  if (!config.database.url && (await isDataDirHeld(config.database.dataDir))) {
    return forward(config.database.dataDir, argv, context);
  }
  let app;
  try {
    app = await NestFactory.createApplicationContext(CliModule.forRoot(config), {
      // Every failure is reported once, as the command's JSON error on stderr: the framework's
      // own error lines would only repeat it. Fatal ones still go to stderr (stdout is JSON).
      logger: new PinoNestLogger(createLogger('fatal', pino.destination(2))),
      abortOnError: false,
    });
  } catch (error) {
    // Taken between the check and the opening.
    if (error instanceof DataDirInUseError) return forward(config.database.dataDir, argv, context);
    throw error;
  }
  try {
    const admin = app.get(AdminService);
    return await runAdminCli(argv, async () => admin, context);
  } finally {
    await app.close();
  }
}

async function forward(dataDir: string, argv: string[], context: { cwd: string }) {
  const reply = (await askDataDirHolder(dataDir, { argv, ...context }, FORWARD_TIMEOUT_MS)) as
    Partial<CliResult & { error: string }> | undefined;
  if (typeof reply?.exitCode === 'number') {
    return { exitCode: reply.exitCode, stdout: reply.stdout ?? '', stderr: reply.stderr ?? '' };
  }
  throw new Error(`the server holding ${dataDir} refused: ${reply?.error ?? 'no answer'}`);
}

run(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.exitCode;
  },
  (error: unknown) => {
    // The database could not be reached on opening: what a command would answer, exit 5.
    const [code, exitCode, message] = isDatabaseUnavailable(error)
      ? ['UNAVAILABLE', EXIT.unavailable, 'database unavailable']
      : error instanceof ConfigError
        ? ['VALIDATION_FAILED', EXIT.usage, error.message]
        : ['INTERNAL', EXIT.failed, `otp-link cli failed: ${String(error)}`];
    process.stderr.write(`${JSON.stringify({ error: code, message })}\n`);
    process.exitCode = exitCode;
  },
);
