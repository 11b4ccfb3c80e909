import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** What the README's walkthroughs leave on disk. */
describe('README walkthroughs', () => {
  it('write the files that hold secrets under a gitignored directory', () => {
    const ignored = read('.gitignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.endsWith('/'));
    const written = [...read('README.md').matchAll(/>\s*(\S+\.json)\b/g)].map(([, file]) => file);
    expect(written).toContain('.data/ludo.json');
    for (const file of written) {
      expect({ file, ignored: ignored.some((dir) => file.startsWith(dir)) }).toEqual({
        file,
        ignored: true,
      });
    }
  });
});
