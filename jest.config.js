const project = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  setupFiles: ['reflect-metadata'],
};

/** Integration suites the Express-only project leaves out. */
const EXPRESS_ONLY_SKIPS = [
  'command-handler',
  'data-platform-client',
  'data-platform-outbox',
  'projector',
  'projector-checkpoints',
  'projector-lease',
  'fast-lane',
  'fast-lane.property',
];

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60000,
  maxWorkers: 2,
  // A worker runs many suites in turn and its heap only grows (property tests, rushes); one past
  // this is replaced between suites rather than running out of memory inside one (seen in CI).
  workerIdleMemoryLimit: '1GB',
  reporters: ['default', '<rootDir>/test/support/skipped-reporter.js'],
  projects: [
    { ...project, displayName: 'unit, contract, integration', roots: ['<rootDir>/test'], testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'] },
    // The same HTTP contract through Express alone: every integration suite that goes through the API again, with FAST_LANE=false.
    // Left out: suites below the HTTP layer, and the two that put both transports side by side themselves.
    {
      ...project,
      displayName: 'integration, Express only',
      roots: ['<rootDir>/test/integration'],
      setupFiles: [...project.setupFiles, '<rootDir>/test/support/express-only.js'],
      testPathIgnorePatterns: ['/node_modules/', ...EXPRESS_ONLY_SKIPS.map((name) => `/test/integration/${name.replace(/\./g, "\\.")}\\.test\\.ts$`)],
    },
    // Several processes of the built app: built once per run, and only when an e2e test is selected.
    { ...project, displayName: 'e2e', roots: ['<rootDir>/test/e2e'], globalSetup: '<rootDir>/test/e2e/build.js' },
  ],
};
