// `npm run test:chaos`: slow fault-injection tests (database outage, SIGKILL, provider outage,
// soak) against the real entry point as a child process. Not part of `npm test`. One file at a
// time: the tests measure latency and memory, and share the machine's two cores.
const { projects } = require('./jest.config');

const { testEnvironment, moduleFileExtensions, transform, moduleNameMapper } = projects[0];

module.exports = {
  displayName: 'chaos',
  testEnvironment,
  moduleFileExtensions,
  transform,
  moduleNameMapper,
  testMatch: ['<rootDir>/test/chaos/**/*.chaos-spec.ts'],
  maxWorkers: 1,
  testTimeout: 180_000,
  slowTestThreshold: 120,
  verbose: true,
};
