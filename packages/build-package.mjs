// Builds the workspace package in the current directory: dist/index.mjs (ESM), dist/index.cjs
// (CommonJS) and dist/index.d.ts, its dependencies left as imports. Prints the minified, gzipped
// size of the browser bundle (with its dependencies), the number each README states.
// Run with `npm run build -w packages/client` (the client before the element: the element's
// declarations import the client's).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import ts from 'typescript';

const dir = process.cwd();
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const entry = join(dir, 'src', 'index.ts');
const external = Object.keys(pkg.dependencies ?? {});
rmSync(join(dir, 'dist'), { recursive: true, force: true });

const common = {
  entryPoints: [entry],
  bundle: true,
  external,
  target: 'es2020',
  logLevel: 'warning',
};
await build({ ...common, format: 'esm', outfile: join(dir, 'dist', 'index.mjs') });
await build({ ...common, format: 'cjs', outfile: join(dir, 'dist', 'index.cjs') });

const program = ts.createProgram([entry], {
  declaration: true,
  emitDeclarationOnly: true,
  outDir: join(dir, 'dist'),
  rootDir: join(dir, 'src'),
  strict: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  types: [],
});
const emitted = program.emit();
const problems = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
if (problems.length > 0) {
  const host = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => dir,
    getNewLine: () => '\n',
  };
  process.stderr.write(ts.formatDiagnostics(problems, host));
  process.exit(1);
}

const browser = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  write: false,
});
const bytes = browser.outputFiles[0].contents;
process.stdout.write(
  `${pkg.name}: dist/index.mjs, dist/index.cjs, dist/index.d.ts; browser bundle ` +
    `${(bytes.length / 1024).toFixed(1)} KiB minified, ${(gzipSync(bytes).length / 1024).toFixed(1)} KiB gzipped\n`,
);
