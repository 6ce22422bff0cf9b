import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/config/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    [' 2s ', 2000],
    ['1h2m3s4ms', 3_723_004],
  ])('reads %j as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['5', '0', '1000', '', '   ', 'abc', '5x', '1 s', '-1s', 's', '1m30', '2S', '1d', '1.s'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});
