import { skippedSuites, skippedSuitesReport } from '../support/skipped-suites';

// jest.config.js is CommonJS outside the TypeScript project.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jestConfig = require('../../jest.config.js') as Record<string, unknown>;

/** `npm test` says what it skipped and how to turn it on. */
describe('npm test: skipped suites', () => {
  it('names each suite skipped and the variable that turns it on', () => {
    const notes = skippedSuites({}, true);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toContain('e2e:postgres skipped');
    expect(notes[0]).toContain('TEST_DATABASE_URL=postgres://');
    expect(notes[1]).toContain('Redis specs skipped');
    expect(notes[1]).toContain('REDIS_URL_FOR_TESTS=redis://');
    expect(skippedSuitesReport({}, true)).toContain('npm test: e2e:postgres skipped');
  });

  it('names the browser specs when there is no Chromium, and how to get one', () => {
    const everything = {
      TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      REDIS_URL_FOR_TESTS: 'redis://127.0.0.1:6379',
    };
    expect(skippedSuites(everything, false)).toEqual([
      'browser specs skipped (no Chromium at /usr/bin/chromium): apt-get install -y chromium, ' +
        'or set CHROMIUM_PATH to a Chromium or Chrome binary',
    ]);
    expect(skippedSuites({ ...everything, CHROMIUM_PATH: '/nowhere/chrome' })).toEqual([
      expect.stringContaining('no Chromium at /nowhere/chrome'),
    ]);
    expect(skippedSuitesReport({ ...everything, CHROMIUM_PATH: '/nowhere/chrome' })).toContain(
      'npm test: browser specs skipped',
    );
  });

  it('says nothing of what runs', () => {
    const everything = {
      TEST_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      REDIS_URL_FOR_TESTS: 'redis://127.0.0.1:6379',
    };
    expect(skippedSuites(everything, true)).toEqual([]);
    expect(skippedSuitesReport(everything, true)).toBe('');
    expect(skippedSuites({ DATABASE_URL: 'postgres://x/y' }, true)).toEqual([
      expect.stringContaining('Redis specs skipped'),
    ]);
  });

  it('is printed at the start and after the summary of every npm test', () => {
    expect(jestConfig.globalSetup).toBe('<rootDir>/test/support/skipped-suites.ts');
    expect(jestConfig.globalTeardown).toBe('<rootDir>/test/support/skipped-suites.ts');
  });
});
