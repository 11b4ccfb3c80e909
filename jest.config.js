// One `npm test` runs the unit specs and the e2e suite on the embedded database; when
// TEST_DATABASE_URL (or DATABASE_URL) names a PostgreSQL server, the e2e suite runs there too.
const postgresUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;

const base = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  moduleNameMapper: {
    '^@app/migrations$': '<rootDir>/migrations',
    '^@app/([a-z-]+)$': '<rootDir>/libs/$1/src',
    '^@otp-link/client$': '<rootDir>/packages/client/src',
  },
};

const e2e = (name, database) => ({
  ...base,
  displayName: name,
  testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
  globals: { E2E_DATABASE: database },
  slowTestThreshold: 30,
});

module.exports = {
  // Says which suites this environment skips, and how to turn them on: before and after the run.
  globalSetup: '<rootDir>/test/support/skipped-suites.ts',
  globalTeardown: '<rootDir>/test/support/skipped-suites.ts',
  // Generous: on a loaded 2-core machine an embedded database takes seconds to start per file.
  testTimeout: 90_000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...base,
      displayName: 'process',
      testMatch: ['<rootDir>/test/process/**/*.spec.ts'],
    },
    // @otp-link/client: its unit specs, and calls against a real app on the embedded database.
    { ...base, displayName: 'client', testMatch: ['<rootDir>/packages/*/test/**/*.spec.ts'] },
    // The reference page in Debian's Chromium (skipped, with the reason printed, without one).
    {
      ...base,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
      slowTestThreshold: 60,
    },
    e2e('e2e:embedded', 'embedded'),
    ...(postgresUrl ? [e2e('e2e:postgres', postgresUrl)] : []),
  ],
};
