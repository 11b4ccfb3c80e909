/**
 * `npm run client:generate`: rewrites packages/client/src/schema.ts from the OpenAPI document.
 * `--from <file> --stdout` prints the types of a saved document instead (the drift spec's way:
 * openapi-typescript loads ES modules that Jest's module system cannot).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { CLIENT_SCHEMA_FILE, clientTypesSource, openApiDocument } from './client-types';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { from: { type: 'string' }, stdout: { type: 'boolean', default: false } },
  });
  const document = values.from
    ? (JSON.parse(readFileSync(values.from, 'utf8')) as object)
    : await openApiDocument();
  const source = await clientTypesSource(document);
  if (values.stdout) {
    process.stdout.write(source);
    return;
  }
  writeFileSync(CLIENT_SCHEMA_FILE, source);
  process.stdout.write(`wrote ${relative(process.cwd(), CLIENT_SCHEMA_FILE)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
