/**
 * The server images the contract suites start: the same tags docker-compose.yml runs
 * (test/unit/compose.test.ts holds the two together), so tests and deployment meet one version.
 */
// A patch tag the vendor publishes (docker.kurrent.io documents `latest` and patch tags; a bare
// `25.1` is not among them). 25.1 is the first release with multiStreamAppend.
export const KURRENTDB_IMAGE = 'docker.kurrent.io/kurrent-latest/kurrentdb:25.1.4';
export const MONGO_IMAGE = 'mongo:8.0';
