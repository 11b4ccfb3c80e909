import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { EMBEDDED_DATABASE, type EmbeddedDatabase } from '@app/database';
import { AdminService } from '../admin.service';
import { runAdminCli } from './admin-cli';

/** What a CLI process sends when the server holds the embedded database. */
export interface CliRequest {
  argv: string[];
  cwd: string;
}

const MAX_ARGS = 64;
const MAX_ARG_LENGTH = 16 * 1024;

export function isCliRequest(value: unknown): value is CliRequest {
  const request = value as Partial<CliRequest> | null;
  return (
    typeof request === 'object' &&
    request !== null &&
    typeof request.cwd === 'string' &&
    Array.isArray(request.argv) &&
    request.argv.length <= MAX_ARGS &&
    request.argv.every((arg) => typeof arg === 'string' && arg.length <= MAX_ARG_LENGTH)
  );
}

/**
 * On the embedded database only one process may open DATA_DIR, and the running server is that
 * process: it answers the admin CLI's commands over the directory's lock socket (owner-only),
 * running them exactly as a CLI process would.
 */
@Injectable()
export class EmbeddedCliChannel implements OnApplicationBootstrap {
  constructor(
    @Inject(EMBEDDED_DATABASE) private readonly embedded: EmbeddedDatabase | null,
    private readonly admin: AdminService,
  ) {}

  onApplicationBootstrap(): void {
    this.embedded?.lock?.serve(async (request) => {
      if (!isCliRequest(request)) return { error: 'not a CLI request' };
      return runAdminCli(request.argv, async () => this.admin, { cwd: request.cwd });
    });
  }
}
