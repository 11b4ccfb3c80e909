import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const PACKAGE = join(__dirname, '..');

/** `npm run build -w packages/client`: ESM, CommonJS and declarations, nothing imported. */
describe('@otp-link/client build', () => {
  let printed: string;

  beforeAll(() => {
    printed = execFileSync(process.execPath, [join(PACKAGE, '..', 'build-package.mjs')], {
      cwd: PACKAGE,
      encoding: 'utf8',
    });
  });

  it('writes an ES module, a CommonJS module and declarations with the same exports', async () => {
    const names = ['OtpLinkError', 'createOtpLinkClient', 'createResendTimer', 'parseRetryAfter'];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const commonjs = require(join(PACKAGE, 'dist', 'index.cjs')) as Record<string, unknown>;
    for (const name of names) expect(typeof commonjs[name]).toBe('function');
    const esm = readFileSync(join(PACKAGE, 'dist', 'index.mjs'), 'utf8');
    expect(esm).toMatch(/^export \{[^}]*\bcreateOtpLinkClient\b[^}]*\};?$/m);
    const declarations = readFileSync(join(PACKAGE, 'dist', 'index.d.ts'), 'utf8');
    for (const name of names) expect(declarations).toContain(name);
    const pkg = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as {
      exports: Record<string, Record<string, string>>;
      dependencies?: unknown;
    };
    expect(pkg.exports['.']).toEqual({
      types: './dist/index.d.ts',
      import: './dist/index.mjs',
      require: './dist/index.cjs',
    });
    expect(pkg.dependencies).toBeUndefined();
  });

  it('has no runtime dependency and states its browser size', () => {
    const esm = readFileSync(join(PACKAGE, 'dist', 'index.mjs'), 'utf8');
    expect(esm).not.toMatch(/^\s*import\s/m);
    expect(esm).not.toMatch(/\brequire\(/);
    const size = /browser bundle ([\d.]+) KiB minified, ([\d.]+) KiB gzipped/.exec(printed);
    expect(size).not.toBeNull();
    const readme = readFileSync(join(PACKAGE, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain(`${size?.[1]} KiB minified, ${size?.[2]} KiB gzipped`);
  });
});
