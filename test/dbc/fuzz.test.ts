/**
 * Parser fuzzing: random token soup and mutated real DBC files never make parseDbc throw anything but
 * DbcParseError, and whatever parses also compiles, lints and decodes random frames without throwing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileDbc, lintDbc, parseDbc } from '../../lambdas/core/dbc/index.js';
import { DbcParseError } from '../../lambdas/core/errors.js';
import { fixture } from './helpers.js';

function exercise(input: string | Uint8Array, frames: Uint8Array[]): void {
  let db: ReturnType<typeof parseDbc>;
  try {
    db = parseDbc(input, { maxWarnings: 50 });
  } catch (e) {
    if (!(e instanceof DbcParseError)) throw e;
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.column).toBeGreaterThanOrEqual(1);
    return;
  }
  lintDbc(db);
  for (const j1939 of [false, true]) {
    const dbc = compileDbc(db, { j1939 });
    for (const m of dbc.messages) {
      for (const f of frames) {
        dbc.decode(m.id, m.extended, f);
        dbc.decode(m.id, m.extended, f, { choices: true });
      }
    }
  }
}

const TOKENS = [
  'VERSION',
  'NS_',
  'BS_',
  'BU_',
  'BO_',
  'SG_',
  'CM_',
  'BA_DEF_',
  'BA_DEF_DEF_',
  'BA_',
  'BA_REL_',
  'BA_DEF_REL_',
  'VAL_',
  'VAL_TABLE_',
  'SIG_VALTYPE_',
  'SG_MUL_VAL_',
  'BO_TX_BU_',
  'SIG_GROUP_',
  'EV_',
  'CAT_DEF_',
  'M',
  'm0',
  'm1M',
  'm4294967296',
  'Name',
  '2nd',
  '0x1F',
  ':',
  ';',
  '|',
  '@',
  '+',
  '-',
  '(',
  ')',
  '[',
  ']',
  ',',
  '"',
  '"str"',
  '"multi\nline"',
  '\\"',
  '0',
  '1',
  '7',
  '8',
  '63',
  '64',
  '65',
  '-1',
  '.5',
  '1e400',
  '1e-5',
  '2147483648',
  '4294967295',
  '99999999999999999999',
  'NaN',
  'ENUM',
  'INT',
  'FLOAT',
  'STRING',
  'HEX',
  '\n',
  '\r\n',
  ' ',
  '\t',
  '//',
  '\u00e4',
  '\u0000',
  '{',
  '__proto__',
  'constructor',
  'Vector__XXX',
  '0-4294967295',
];

const frames = [
  new Uint8Array(0),
  new Uint8Array(8).fill(0xff),
  Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
  new Uint8Array(64).fill(0xa5),
];

describe('DBC parser fuzzing', () => {
  it('random token sequences', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 120 }), (toks) => {
        exercise(toks.join(' '), frames);
      }),
      { numRuns: 1500 },
    );
  });

  it('well-formed skeletons with random numbers', () => {
    const num = fc.oneof(
      fc.integer({ min: -5, max: 80 }),
      fc.constantFrom(4294967295, 2147483648, 1e300, -0.5),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            num,
            num,
            fc.boolean(),
            fc.boolean(),
            num,
            num,
            fc.constantFrom('', 'M', 'm0', 'm1', 'm2M'),
          ),
          {
            maxLength: 8,
          },
        ),
        num,
        num,
        (sigs, id, len) => {
          const lines = [`BO_ ${id} Msg: ${len} N`];
          sigs.forEach(([start, l, be, signed, f, o, mux], i) => {
            lines.push(
              ` SG_ S${i} ${mux} : ${start}|${l}@${be ? 0 : 1}${signed ? '-' : '+'} (${f},${o}) [0|0] "" N`,
            );
          });
          lines.push(
            `SG_MUL_VAL_ ${id} S1 S0 0-3, 5-${len};`,
            `SIG_VALTYPE_ ${id} S0 : 1;`,
            `VAL_ ${id} S0 0 "a" -1 "b";`,
          );
          exercise(lines.join('\n'), frames);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('mutated real DBC files (bytes flipped, inserted, deleted, truncated)', () => {
    const dir = join(import.meta.dirname, '../fixtures/conformance/dbc/dbc');
    const corpus = [
      fixture('features.dbc'),
      fixture('loose.dbc'),
      fixture('cp1252.dbc'),
      ...readdirSync(dir)
        .filter((f) =>
          /^(multiplex_2|vehicle|issue_184_extended_mux_cascaded|floating_point|choices|j1939)\.dbc$/.test(f),
        )
        .map((f) => readFileSync(join(dir, f))),
    ];
    const mutation = fc.array(
      fc.record({
        kind: fc.integer({ min: 0, max: 3 }),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
        n: fc.integer({ min: 1, max: 40 }),
      }),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: corpus.length - 1 }), mutation, (which, muts) => {
        let b = Buffer.from(corpus[which]!);
        for (const m of muts) {
          const at = m.at % (b.length + 1);
          if (m.kind === 0 && b.length > 0) b[at % b.length] = m.byte;
          else if (m.kind === 1)
            b = Buffer.concat([b.subarray(0, at), Buffer.alloc(m.n, m.byte), b.subarray(at)]);
          else if (m.kind === 2) b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
          else b = b.subarray(0, at);
        }
        exercise(b, frames);
      }),
      { numRuns: 300 },
    );
  });
});
