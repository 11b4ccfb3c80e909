import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** `npm run lint:boundaries` on some files: its exit code and report. */
async function cruise(files: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(
      'npx',
      ['depcruise', '--config', '.dependency-cruiser.cjs', ...files],
      { cwd: ROOT },
    );
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: `${failed.stdout}${failed.stderr}` };
  }
}

// The one-way order of the libs is checked in CI (`npm run lint` runs lint:boundaries); these
// plant the wrong imports it must catch in a real lib folder, and remove them again.
describe('lint:boundaries', () => {
  const planted: string[] = [];
  function plant(lib: string, text: string): string {
    const file = join('libs', lib, 'src', `planted-${randomBytes(4).toString('hex')}.ts`);
    writeFileSync(join(ROOT, file), text);
    planted.push(file);
    return file;
  }
  afterEach(() => {
    for (const file of planted.splice(0)) rmSync(join(ROOT, file), { force: true });
  });

  it('refuses a lib importing a lib above it, and a deep import past an index.ts', async () => {
    const file = plant(
      'otp',
      [
        "import { PhoneLinkFlow } from '@app/phone-link';",
        "import { Notifiers } from '../../notifications/src/notifiers';",
        'export const planted = [PhoneLinkFlow, Notifiers];',
        '',
      ].join('\n'),
    );
    const { code, output } = await cruise([file]);
    expect(code).not.toBe(0);
    expect(output).toMatch(
      /error layers:otp: libs\/otp\/src\/planted-\w+\.ts → libs\/phone-link\/src\/index\.ts/,
    );
    expect(output).toMatch(
      /error lib-entry-point: libs\/otp\/src\/planted-\w+\.ts → libs\/notifications\/src\/notifiers\.ts/,
    );
  }, 60_000);

  it('refuses one front door importing another', async () => {
    const file = plant('admin', "export { AuthModule } from '@app/auth';\n");
    const { code, output } = await cruise([file]);
    expect(code).not.toBe(0);
    expect(output).toMatch(/error layers:admin: .* → libs\/auth\/src\/index\.ts/);
  }, 60_000);

  it('lets a lib use the libs below it through their index.ts', async () => {
    const file = plant(
      'otp',
      "import { Sql } from '@app/database';\nimport { Clock } from '@app/common';\nexport const planted = [Sql, Clock];\n",
    );
    expect(await cruise([file])).toMatchObject({ code: 0 });
  }, 60_000);
});
