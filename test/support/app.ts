import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createEventmart, Eventmart, LISTEN_BACKLOG } from '../../src/app';
import { Role } from '../../src/shared/auth/tokens';
import { loadConfig } from '../../src/shared/config';
import { Overrides } from '../../src/composition/compose';
import { deleteKeys } from './redis';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256!';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestApp {
  readonly app: Eventmart;
  readonly dataDir: string;
  readonly baseUrl: string;
  /** A supertest agent on the running server (one listening socket, so hundreds of parallel requests are real). */
  http(): ReturnType<typeof request>;
  tokenFor(userId: string, role?: Role): Promise<string>;
  /** Stops the server and closes the stores; keeps the data directory (for restart tests). */
  stop(): Promise<void>;
  /** stop() and remove the data directory. */
  close(): Promise<void>;
}

/**
 * The whole application in-process on real embedded stores in a fresh temporary directory.
 * `env` adds configuration (e.g. REDIS_URL); `dataDir` reuses a directory (restart tests).
 */
export async function startTestApp(options: { env?: Record<string, string>; dataDir?: string; overrides?: Overrides } = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'eventmart-test-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    SQLITE_SYNCHRONOUS: 'NORMAL',
    PROJECTION_POLL_MS: '50',
    // The Express-only jest project runs the integration suite again with FAST_LANE=false.
    ...(process.env.FAST_LANE === undefined ? {} : { FAST_LANE: process.env.FAST_LANE }),
    REDIS_PREFIX: `eventmart-test:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}:`,
    // Apps in one test process share a host and a PORT setting: each is its own instance unless a test says otherwise.
    INSTANCE_ID: `test-app-${Math.random().toString(36).slice(2)}`,
    ...options.env,
  });
  const app = await createEventmart(config, options.overrides);
  app.start();
  const server: Server = await new Promise((resolve) => {
    const s = createServer(app.http).listen(0, '127.0.0.1', LISTEN_BACKLOG, () => resolve(s));
  });
  server.keepAliveTimeout = 1000;
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.close();
  };
  return {
    app,
    dataDir,
    baseUrl,
    http: () => request(baseUrl),
    tokenFor: (userId, role = 'customer') => app.tokens.issue({ userId, role }),
    stop,
    async close() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
      if (config.REDIS_URL) {
        // Tests that make Redis unreachable on purpose must not hang here.
        const redis = new Redis(config.REDIS_URL, { connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
        redis.on('error', () => undefined);
        await deleteKeys(redis, config.REDIS_PREFIX).catch(() => undefined);
        redis.disconnect();
      }
    },
  };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
