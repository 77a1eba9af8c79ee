const project = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  setupFiles: ['reflect-metadata'],
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/skipped-reporter.js'],
  projects: [
    { ...project, displayName: 'unit, contract, integration', roots: ['<rootDir>/test'], testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'] },
    // Several processes of the built app: built once per run, and only when an e2e test is selected.
    { ...project, displayName: 'e2e', roots: ['<rootDir>/test/e2e'], globalSetup: '<rootDir>/test/e2e/build.js' },
  ],
};
