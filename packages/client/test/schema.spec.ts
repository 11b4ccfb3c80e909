import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '../../../test/support/http';
import { runTsProcess } from '../../../test/support/server-process';
import { startTestApp, TestApp } from '../../../test/support/test-app';

const SCHEMA_FILE = join(__dirname, '..', 'src', 'schema.ts');

/**
 * packages/client/src/schema.ts is generated from the OpenAPI document: when an endpoint, field or
 * error code changes, this fails until `npm run client:generate` is run and the result committed.
 */
describe('@otp-link/client types', () => {
  let t: TestApp;
  const scratch = mkdtempSync(join(tmpdir(), 'otp-link-client-types-'));

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('are what openapi-typescript makes of the live OpenAPI document', async () => {
    const { status, body } = await http<object>(t.url, 'GET', '/docs-json');
    expect(status).toBe(200);
    const documentFile = join(scratch, 'openapi.json');
    writeFileSync(documentFile, JSON.stringify(body));
    const generated = await runTsProcess(
      'scripts/generate-client-types.ts',
      ['--from', documentFile, '--stdout'],
      {},
    );
    expect({ code: generated.code, stderr: generated.stderr }).toEqual({ code: 0, stderr: '' });
    expect(generated.stdout).toContain("'/fe/users/auth/otp/verify'");
    // A plain equality: Jest's diff shows what changed; `npm run client:generate` fixes it.
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(generated.stdout);
  });
});
