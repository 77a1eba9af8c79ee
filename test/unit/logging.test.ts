import { PassThrough } from 'node:stream';
import { chooseLogFormat, createLogger } from '../../src/shared/logging';

/** Captures what a logger writes, as if to a terminal (isTTY) or a pipe. */
function output(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { stream, text: () => chunks.join('') };
}

describe('logs', () => {
  it('are pretty on a terminal outside production, JSON for a pipe and in production, as LOG_FORMAT says otherwise', () => {
    expect(chooseLogFormat({ LOG_FORMAT: 'auto', NODE_ENV: 'development' }, true)).toBe('pretty');
    expect(chooseLogFormat({ LOG_FORMAT: 'auto', NODE_ENV: 'development' }, false)).toBe('json');
    expect(chooseLogFormat({ LOG_FORMAT: 'auto', NODE_ENV: 'production' }, true)).toBe('json');
    expect(chooseLogFormat({ LOG_FORMAT: 'json', NODE_ENV: 'development' }, true)).toBe('json');
    expect(chooseLogFormat({ LOG_FORMAT: 'pretty', NODE_ENV: 'production' }, false)).toBe('pretty');
  });

  it('on a terminal: one coloured line per entry, a request as method, path, status and time', () => {
    const out = output(true);
    const logger = createLogger({ LOG_FORMAT: 'auto', NODE_ENV: 'development', LOG_LEVEL: 'info' }, out.stream);
    logger.warn({ path: '/data/jwt-secret' }, 'generated a key');
    logger.info({ req: { method: 'GET', url: '/products', headers: {} }, res: { statusCode: 200 }, responseTime: 3 }, 'request completed');
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/\u001b\[\d+mWARN\u001b\[39m/);
    expect(lines[0]).toContain('generated a key');
    expect(lines[0]).toContain('/data/jwt-secret');
    expect(lines[1]).toContain('GET /products 200 3 ms');
    expect(lines[1]).not.toContain('headers');
  });

  it('to a pipe: JSON, one object a line', () => {
    const out = output(false);
    createLogger({ LOG_FORMAT: 'auto', NODE_ENV: 'development', LOG_LEVEL: 'info' }, out.stream).info({ projection: 'orders' }, 'caught up');
    expect(JSON.parse(out.text())).toMatchObject({ level: 30, projection: 'orders', msg: 'caught up' });
  });
});
