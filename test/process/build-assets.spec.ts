import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Each lib's SQL functions are read from `sql/` next to its compiled code: `nest build` must copy
 * every such folder (nest-cli.json's assets), or the built service (npm run start:prod, the
 * Docker image, the bench) fails at its first migration.
 */
const ROOT = join(__dirname, '..', '..');

describe('nest-cli.json assets', () => {
  it("copy every lib's sql/ folder into dist/", () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'nest-cli.json'), 'utf8')) as {
      compilerOptions: { assets: Array<{ include: string; outDir: string }> };
    };
    const copied = config.compilerOptions.assets.map((asset) => [asset.include, asset.outDir]);
    const libsWithSql = readdirSync(join(ROOT, 'libs')).filter((lib) =>
      existsSync(join(ROOT, 'libs', lib, 'src', 'sql')),
    );
    expect(libsWithSql.length).toBeGreaterThan(5);
    for (const lib of libsWithSql) {
      expect(copied).toContainEqual([`../../../libs/${lib}/src/sql/*.sql`, `dist/libs/${lib}/src`]);
    }
  });
});
