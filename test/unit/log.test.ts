import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';

function capture(): { lines: Record<string, unknown>[]; stream: { write: (s: string) => void } } {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) } };
}

describe('createLogger', () => {
  it('writes JSON with a level label, ISO time and the name', () => {
    const { lines, stream } = capture();
    createLogger('info', stream).info({ key: 'k' }, 'hello');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', name: 'cedana-operator', key: 'k', msg: 'hello' });
    expect(String(lines[0]?.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('honours the level', () => {
    const { lines, stream } = capture();
    const log = createLogger('warn', stream);
    log.info('dropped');
    log.warn('kept');
    expect(lines.map((l) => l.msg)).toEqual(['kept']);
  });

  it.each([
    [{ token: 'secret' }, { token: '[redacted]' }],
    [{ headers: { authorization: 'Bearer secret' } }, { headers: { authorization: '[redacted]' } }],
    [{ req: { headers: { authorization: 'Bearer secret' } } }, { req: { headers: { authorization: '[redacted]' } } }],
    [{ cedanaToken: 'secret' }, { cedanaToken: '[redacted]' }],
    [{ config: { cedanaToken: 'secret', workers: 4 } }, { config: { cedanaToken: '[redacted]', workers: 4 } }],
    [{ authorization: 'Bearer secret' }, { authorization: '[redacted]' }],
  ])('redacts %j', (fields, expected) => {
    const { lines, stream } = capture();
    createLogger('info', stream).info(fields, 'm');
    expect(lines[0]).toMatchObject(expected);
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('redacts bindings of child loggers too', () => {
    const { lines, stream } = capture();
    createLogger('info', stream).child({ token: 'secret' }).info('m');
    expect(lines[0]).toMatchObject({ token: '[redacted]' });
    expect(JSON.stringify(lines)).not.toContain('secret');
  });
});
