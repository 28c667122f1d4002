import { describe, expect, it } from 'vitest';
import { parseDbc } from '../../lambdas/core/dbc/index.js';
import { DbcParseError } from '../../lambdas/core/errors.js';
import { fixture } from './helpers.js';

const codes = (db: { warnings: Array<{ code: string }> }) => db.warnings.map((w) => w.code);

describe('parseDbc: the feature fixture', () => {
  const db = parseDbc(fixture('features.dbc'));

  it('reads version, nodes, messages and signals', () => {
    expect(db.version).toBe('1.2');
    expect(db.nodes.map((n) => n.name)).toEqual(['ECU1', 'ECU2', 'Gateway']);
    expect(db.messages.map((m) => m.name)).toContain('Engine');
    const engine = db.messages.find((m) => m.name === 'Engine')!;
    expect(engine).toMatchObject({
      id: 100,
      extended: false,
      length: 8,
      sender: 'ECU1',
      transmitters: ['Gateway'],
    });
    expect(engine.signals.map((s) => s.name)).toEqual([
      'Speed',
      'Rpm',
      'Temp',
      'Gear',
      'Load',
      'Torque',
      'Flags',
    ]);
    const torque = engine.signals.find((s) => s.name === 'Torque')!;
    expect(torque).toMatchObject({
      startBit: 55,
      length: 12,
      byteOrder: 'big_endian',
      signed: true,
      factor: 0.1,
      offset: 0,
      unit: 'Nm',
      receivers: ['ECU2'],
    });
    expect(db.warnings).toEqual([]);
  });

  it('marks extended ids by bit 31 and strips the flag', () => {
    const wide = db.messages.find((m) => m.name === 'Wide')!;
    expect(wide).toMatchObject({ id: 0x123, extended: true, fileId: 2147483939 });
  });

  it('reads comments, including multi-line ones and escaped quotes', () => {
    const engine = db.messages.find((m) => m.name === 'Engine')!;
    expect(engine.comment).toBe('Engine status.\nSent every 10 ms.');
    expect(engine.signals[0]!.comment).toBe('Vehicle speed, with an "escaped" word.');
    expect(db.nodes[2]!.comment).toBe('Routes frames between buses.');
    expect(db.comment).toBe('The feature fixture of the Fleetwire DBC tests.');
  });

  it('reads attributes with their definitions and defaults', () => {
    expect(db.attributeDefinitions.get('GenMsgCycleTime')).toMatchObject({
      type: 'INT',
      kind: 'BO_',
      minimum: 0,
      maximum: 65535,
      default: 0,
    });
    expect(db.attributeDefinitions.get('VFrameFormat')).toMatchObject({ type: 'ENUM', default: 0 });
    expect(db.attributes.BusType).toBe('CAN FD');
    expect(db.messages.find((m) => m.name === 'Engine')!.attributes.GenMsgCycleTime).toBe(10);
    expect(db.relationAttributes).toEqual([
      {
        name: 'GenSigTimeoutTime',
        kind: 'BU_SG_REL_',
        node: 'ECU2',
        messageId: 100,
        signal: 'Speed',
        value: 100,
      },
    ]);
  });

  it('applies VFrameFormat (CAN FD) and long names', () => {
    expect(db.messages.find((m) => m.name === 'FdMsg')!.isFd).toBe(true);
    expect(db.messages.find((m) => m.name === 'Engine')!.isFd).toBe(false);
    const long = db.messages.find((m) => m.name === 'LongNames')!.signals[0]!;
    expect(long.name).toBe('LongSignalNameThatIsTooLongForCANdbPlusPlus');
    expect(long.fileName).toBe('LongSignalNameThatIsTooLo_0000');
  });

  it('reads value tables, VAL_ (negative keys as BigInt), SIG_VALTYPE_, SIG_GROUP_', () => {
    expect([...db.valueTables.get('GearTable')!.entries()]).toEqual([
      [0n, 'P'],
      [1n, 'R'],
      [2n, 'N'],
      [3n, 'D'],
    ]);
    const s64 = db.messages.find((m) => m.name === 'WideSigned')!.signals[0]!;
    expect(s64.choices?.get(-1n)).toBe('MinusOne');
    const floats = db.messages.find((m) => m.name === 'Floats')!;
    expect(floats.signals.map((s) => s.valueType)).toEqual(['float32', 'float32']);
    expect(db.messages.find((m) => m.name === 'Double')!.signals[0]!.valueType).toBe('float64');
    expect(db.messages.find((m) => m.name === 'Engine')!.signalGroups).toEqual([
      { name: 'Powertrain', repetitions: 1, signals: ['Speed', 'Rpm', 'Torque'] },
    ]);
  });

  it('resolves extended multiplexing (SG_MUL_VAL_, several switches, nested, ranges)', () => {
    const muxed = db.messages.find((m) => m.name === 'Muxed')!;
    const by = (n: string) => muxed.signals.find((s) => s.name === n)!;
    expect(by('Mode')).toMatchObject({ isMultiplexer: true });
    expect(by('Mode').multiplexerSignal).toBeUndefined();
    expect(by('Page')).toMatchObject({
      isMultiplexer: true,
      multiplexerSignal: 'Mode',
      multiplexerRanges: [[2, 2]],
    });
    expect(by('P1')).toMatchObject({ multiplexerSignal: 'Page', multiplexerRanges: [[1, 3]] });
    expect(by('D').multiplexerRanges).toEqual([
      [3, 5],
      [7, 7],
    ]);
    expect(by('Crc').multiplexerSignal).toBeUndefined();
    const simple = db.messages.find((m) => m.name === 'SimpleMux')!;
    expect(simple.signals.find((s) => s.name === 'X1')).toMatchObject({
      multiplexerSignal: 'Sel',
      multiplexerRanges: [[1, 1]],
    });
  });

  it('gives the same model for CRLF line endings', () => {
    const text = fixture('features.dbc').toString('utf8');
    const crlf = parseDbc(text.replace(/\n/g, '\r\n'));
    // Same model apart from line breaks inside comments (kept as written).
    const strip = (d: typeof db) =>
      JSON.stringify(d.messages, (k, v) =>
        typeof v === 'bigint' ? String(v) : k === 'comment' ? v.replace(/\r\n/g, '\n') : v,
      );
    expect(strip(crlf)).toBe(strip(db));
    expect(crlf.messages.find((m) => m.name === 'Engine')!.comment).toBe(
      'Engine status.\r\nSent every 10 ms.',
    );
  });
});

describe('parseDbc: loose syntax', () => {
  const db = parseDbc(fixture('loose.dbc'));

  it('accepts the file and reads its messages', () => {
    const m = db.messages.find((x) => x.name === 'Loose')!;
    expect(m.signals.map((s) => s.name)).toEqual(['Sig1', '2ndSig', 'NoUnit', 'Last']);
    expect(m.signals[0]).toMatchObject({ factor: 0.5, receivers: ['A', 'B'] });
    expect(m.signals[1]).toMatchObject({ offset: -0.25, signed: true });
    expect(m.comment).toBe('missing semicolon');
    expect(m.signals[0]!.comment).toBe('multi\nline\ncomment');
    expect(m.attributes.GenMsgCycleTime).toBe(100);
    expect(m.signals[0]!.choices?.get(1n)).toBe('On');
    expect(db.messages.find((x) => x.name === 'AfterJunk')).toBeDefined();
  });

  it('reports each repair as a warning with line and column', () => {
    const c = codes(db);
    for (const code of [
      'DBC_LOOSE_NUMBER',
      'DBC_LOOSE_RECEIVERS',
      'DBC_MISSING_UNIT',
      'DBC_MISSING_SEMICOLON',
      'DBC_UNEXPECTED_TOKEN',
      'DBC_SKIPPED_SECTION',
      'DBC_MISSING_SENDER',
    ]) {
      expect(c, code).toContain(code);
    }
    for (const w of db.warnings) {
      expect(w.line).toBeGreaterThan(0);
      expect(w.column).toBeGreaterThan(0);
    }
    const semi = db.warnings.find((w) => w.code === 'DBC_MISSING_SEMICOLON')!;
    expect(semi.line).toBe(15);
  });

  it('skips malformed non-essential statements with a warning', () => {
    const bad = db.warnings.find((w) => w.code === 'DBC_BAD_STATEMENT')!;
    expect(bad.message).toMatch(/^BA_ skipped/);
  });
});

describe('parseDbc: encodings', () => {
  it('reads cp1252 and UTF-8 files to the same text', () => {
    const cp = parseDbc(fixture('cp1252.dbc'));
    const utf = parseDbc(fixture('utf8.dbc'));
    expect(cp.encoding).toBe('cp1252');
    expect(utf.encoding).toBe('utf-8');
    for (const db of [cp, utf]) {
      const s = db.messages[0]!.signals[0]!;
      expect(s.unit).toBe('°C');
      expect(s.choices?.get(1n)).toBe('Übertemperatur – Lüfter an');
      expect(db.messages[0]!.comment).toBe('Kühlmittel €');
    }
  });

  it('can be forced to one encoding', () => {
    const db = parseDbc(fixture('utf8.dbc'), { encoding: 'cp1252' });
    expect(db.messages[0]!.signals[0]!.unit).toBe('Â°C');
  });

  it('strips a UTF-8 byte order mark', () => {
    const text = fixture('utf8.dbc');
    const db = parseDbc(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]));
    expect(db.version).toBe('enc');
  });
});

describe('parseDbc: errors', () => {
  const expectError = (text: string, line: number, column: number, pattern: RegExp) => {
    let err: unknown;
    try {
      parseDbc(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DbcParseError);
    const e = err as DbcParseError;
    expect({ line: e.line, column: e.column }).toEqual({ line, column });
    expect(e.code).toBe('DBC_PARSE_ERROR');
    expect(e.message).toMatch(pattern);
    expect(e.details).toEqual({ line, column });
  };

  it('rejects an unreadable SG_ with line and column', () => {
    expectError('VERSION ""\nBO_ 1 M: 8 N\n SG_ S : 0|8@1+ (1,0 [0|1] "" N\n', 3, 22, /SG_: expected "\)"/);
  });

  it('rejects a byte order other than 0/1', () => {
    expectError('BO_ 1 M: 8 N\n SG_ S : 0|8@2+ (1,0) [0|1] "" N\n', 2, 14, /byte order/);
  });

  it('rejects an unreadable BO_', () => {
    expectError('BO_ x M: 8 N\n', 1, 5, /BO_: expected a message id/);
  });

  it('rejects text that is not a DBC file', () => {
    expectError('\n  hello world\n', 2, 3, /not a DBC file/);
  });

  it('rejects files over the size limit before parsing', () => {
    expect(() => parseDbc(new Uint8Array(100), { maxBytes: 10 })).toThrow(DbcParseError);
  });

  it('accepts an empty file as an empty database', () => {
    expect(parseDbc('').messages).toEqual([]);
  });

  it('treats an 11-bit id above 0x7FF without bit 31 as extended, with a warning', () => {
    const db = parseDbc('BO_ 4096 Big: 8 N\n SG_ S : 0|8@1+ (1,0) [0|1] "" N\n');
    expect(db.messages[0]).toMatchObject({ id: 4096, extended: true });
    expect(codes(db)).toContain('DBC_BAD_ID');
  });

  it('warns about references to unknown messages and signals', () => {
    const db = parseDbc('BO_ 1 M: 8 N\n SG_ S : 0|8@1+ (1,0) [0|1] "" N\nVAL_ 2 S 1 "x";\nVAL_ 1 T 1 "x";\n');
    expect(db.warnings.map((w) => w.message)).toEqual([
      'VAL_ refers to unknown message id 2',
      'VAL_ refers to unknown signal "T" of message id 1',
    ]);
  });
});
