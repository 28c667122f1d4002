/** The DBC engine check behind file uploads. */
import { describe, expect, it } from 'vitest';
import { checkDbcWithEngine } from '../../lambdas/api/dbc-check.js';
import { DBC_TEXT } from './fixtures.js';

describe('checkDbcWithEngine', () => {
  it('parses a DBC and reports its size', () => {
    const r = checkDbcWithEngine(new TextEncoder().encode(DBC_TEXT));
    expect(r.ok).toBe(true);
    expect(r.messages).toBe(1);
    expect(r.signals).toBe(1);
  });

  it('keeps lint findings (duplicate ids) without refusing the file', () => {
    const text = `${DBC_TEXT}\nBO_ 100 Engine2: 8 ECU\n SG_ Rpm : 0|16@1+ (1,0) [0|65535] "rpm" Vector__XXX\n`;
    const r = checkDbcWithEngine(new TextEncoder().encode(text));
    expect(r.ok).toBe(true);
    expect(r.findings.some((f) => f.code === 'DUPLICATE_ID' && f.severity === 'error')).toBe(true);
  });

  it('refuses a file the engine cannot parse, with the line', () => {
    const r = checkDbcWithEngine(new TextEncoder().encode('VERSION ""\nBO_ notanumber Engine: 8 ECU\n'));
    expect(r.ok).toBe(false);
    expect(r.findings[0]?.code).toBe('DBC_PARSE_ERROR');
    expect(r.findings[0]?.line).toBe(2);
  });
});
