/** Simulation scripts: the accepted shapes, answers by action, and typed errors for bad files. */
import { describe, expect, it } from 'vitest';
import { isFleetwireError } from '../../lambdas/core/errors.js';
import { parseScript, scriptedAnswer } from '../../lambdas/sim/script.js';

describe('simulation scripts', () => {
  it('takes a bare array of steps (looping)', () => {
    expect(parseScript('[{"a": 1}, {"a": 2}]')).toEqual({
      loop: true,
      steps: [{ a: 1 }, { a: 2 }],
      commands: {},
    });
  });

  it('takes steps, loop and command answers', () => {
    const s = parseScript(
      JSON.stringify({
        loop: false,
        steps: [{ x: 1 }],
        commands: { SET_MODE: 'FAILED', '*': { status: 'SUCCEEDED', detail: 'ok' } },
      }),
    );
    expect(s.loop).toBe(false);
    expect(scriptedAnswer(s, 'SET_MODE')).toEqual({ status: 'FAILED' });
    expect(scriptedAnswer(s, 'OTHER')).toEqual({ status: 'SUCCEEDED', detail: 'ok' });
    expect(scriptedAnswer(parseScript('[]'), 'OTHER')).toBeUndefined();
    expect(scriptedAnswer(undefined, 'OTHER')).toBeUndefined();
  });

  it('does not let "__proto__" or "constructor" actions reach a prototype', () => {
    const s = parseScript('{"commands": {"constructor": "FAILED"}}');
    expect(scriptedAnswer(s, 'constructor')).toEqual({ status: 'FAILED' });
    expect(scriptedAnswer(s, 'toString')).toBeUndefined();
  });

  it.each([
    ['not json', 'INVALID_JSON'],
    ['{"steps": 3}', 'SCHEMA_VIOLATION'],
    ['{"commands": {"SET_MODE": "MAYBE"}}', 'SCHEMA_VIOLATION'],
    ['{"commands": {"bad action!": "FAILED"}}', 'SCHEMA_VIOLATION'],
    ['{"steps": [], "extra": 1}', 'SCHEMA_VIOLATION'],
    ['[1, 2]', 'SCHEMA_VIOLATION'],
  ])('refuses %s with %s', (text, code) => {
    try {
      parseScript(text);
      expect.unreachable();
    } catch (e) {
      expect(isFleetwireError(e) && e.code).toBe(code);
    }
  });
});
