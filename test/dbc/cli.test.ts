/** The DBC commands through the built CLI bundle (bin/fleetwire.cjs). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from './helpers.js';

const bin = join(import.meta.dirname, '../../bin/fleetwire.cjs');
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', input: input ?? '', maxBuffer: 1 << 26 });

describe('fleetwire decode-frames', () => {
  const dbc = fixturePath('features.dbc');

  it('writes one line per input line, in order, with exact numbers', () => {
    const input = [
      '{"id": 100, "data": "1027d0076457f9c5"}',
      '{"id": 2147483939, "data": "0123456789abcdef"}',
      '{"id": 291, "extended": true, "data": "0100000000000000"}',
      '{"id": 201, "data": "000000000000f87f"}',
      '{"id": 201, "data": "000000000000f07f"}',
      '{"id": 201, "data": "000000000000f0ff"}',
      '{"id": 999, "data": ""}',
      '{"id": 300, "data": "0800000000000011"}',
      '{"id": 302, "data": "2a"}',
      'not json',
      '{"id": 100, "data": "zz"}',
      '',
      '{"id": 100, "data": "1027d0076457f9c5", "extended": false, "comment": "extra keys are ignored"}',
    ].join('\n');
    const r = run(['decode-frames', '--dbc', dbc], `${input}\n`);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toEqual([
      '{"id":100,"message":"Engine","signals":{"Speed":100,"Rpm":2000,"Temp":60,"Gear":3,"Load":42,"Torque":-10,"Flags":5}}',
      '{"id":2147483939,"message":"Wide","signals":{"Counter64":17279655951921914625}}',
      '{"id":291,"message":"Wide","signals":{"Counter64":1}}',
      '{"id":201,"message":"Double","signals":{"D64":"NaN"}}',
      '{"id":201,"message":"Double","signals":{"D64":"Infinity"}}',
      '{"id":201,"message":"Double","signals":{"D64":"-Infinity"}}',
      '{"id":999,"error":"unknown id"}',
      '{"id":300,"message":"Muxed","signals":{"Mode":8,"Crc":17},"error":"expected multiplexer id 0, 1, 2, 3, 4, 5, 6 or 7, but got 8"}',
      '{"id":302,"message":"Short","signals":{"Head":42},"error":"frame has 1 bytes, message Short has 8: 1 signal(s) missing","missing":["Tail"]}',
      '{"id":null,"error":"line is not valid JSON"}',
      '{"id":100,"error":"data must be a string of hex byte pairs"}',
      '{"id":null,"error":"empty line"}',
      '{"id":100,"message":"Engine","signals":{"Speed":100,"Rpm":2000,"Temp":60,"Gear":3,"Load":42,"Torque":-10,"Flags":5}}',
    ]);
  });

  it('prints value-table names with --choices and matches J1939 PGNs with --j1939', () => {
    const input = '{"id": 100, "data": "1027d0076457f9c5"}\n{"id": 419361047, "data": "00ff010000000000"}\n';
    const plain = run(['decode-frames', '--dbc', dbc], input).stdout.split('\n');
    expect(plain[1]).toBe('{"id":419361047,"error":"unknown id"}');
    const r = run(['decode-frames', '--dbc', dbc, '--choices', '--j1939'], input);
    const lines = r.stdout.split('\n');
    expect(JSON.parse(lines[0]!).signals.Gear).toBe('D');
    expect(lines[1]).toBe('{"id":419361047,"message":"CCVS","signals":{"WheelSpeed":1.99609375}}');
  });

  it('requires --dbc and reports unreadable DBC files as typed errors', () => {
    expect(run(['decode-frames']).status).toBe(64);
    const bad = run(['decode-frames', '--dbc', fixturePath('../conformance/README.md')]);
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stderr.split('\n')[0]!)).toMatchObject({ error: 'DBC_PARSE_ERROR' });
  });
});

describe('fleetwire dbc-lint', () => {
  it('prints a human report', () => {
    const r = run(['dbc-lint', fixturePath('features.dbc')]);
    expect(r.stdout).toContain('messages (');
    expect(r.stdout).toMatch(/signal Outside .* never decoded \[SIGNAL_OUTSIDE_MESSAGE\]/);
    expect(r.status).toBe(1); // the fixture deliberately has a signal beyond its message
  });

  it('prints JSON with --json', () => {
    const r = run(['dbc-lint', fixturePath('loose.dbc'), '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ messages: 2, signals: 5 });
    expect(report.problems.map((p: { code: string }) => p.code)).toContain('DBC_MISSING_SEMICOLON');
  });
});

describe('fleetwire conformance', () => {
  it('runs a vector directory and exits 0 at 100%', () => {
    const dir = join(import.meta.dirname, '../fixtures/conformance/dbc');
    const r = run(['conformance', dir, '--filter', 'motohawk']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/total: 4 vectors, \d+\/\d+ frame decodes agree \(100\.00%\)/);
  });
});
