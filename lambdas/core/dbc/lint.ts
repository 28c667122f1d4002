/**
 * DBC linting: what a DBC says (messages, signals, multiplexing) and what is wrong with it, beyond the
 * parse warnings: signals beyond the message length, overlapping signals that can be active together,
 * duplicate ids and names, classic-CAN messages longer than 8 bytes, multiplexing that cannot work.
 */
import { bytesNeeded, signalBitPositions } from './layout.js';
import type { DbcDatabase, DbcMessage, DbcSignal } from './model.js';

/** One finding. */
export interface LintProblem {
  /** `error` changes or prevents decoding; `warning` is suspicious; `info` is worth knowing. */
  severity: 'error' | 'warning' | 'info';
  code: string;
  message: string;
  /** 1-based line in the DBC file, when known. */
  line?: number;
}

/** The lint report. */
export interface LintReport {
  version: string;
  encoding: string;
  nodes: number;
  messages: number;
  signals: number;
  multiplexedMessages: number;
  extendedMessages: number;
  fdMessages: number;
  floatSignals: number;
  /** Parse warnings and lint findings, parse warnings first. */
  problems: LintProblem[];
}

/** The switches above a signal with the selector ranges that enable it (nearest first). */
function conditions(s: DbcSignal, byName: Map<string, DbcSignal>): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  let cur: DbcSignal | undefined = s;
  while (cur?.multiplexerSignal !== undefined && !out.has(cur.multiplexerSignal)) {
    out.set(cur.multiplexerSignal, cur.multiplexerRanges ?? []);
    cur = byName.get(cur.multiplexerSignal);
  }
  return out;
}

/** Can two signals be active in the same frame? Not when some common switch selects them by disjoint values. */
function canCoexist(a: DbcSignal, b: DbcSignal, byName: Map<string, DbcSignal>): boolean {
  const ca = conditions(a, byName);
  const cb = conditions(b, byName);
  for (const [sw, ra] of ca) {
    const rb = cb.get(sw);
    if (rb === undefined) continue;
    if (!ra.some(([lo, hi]) => rb.some(([lo2, hi2]) => lo <= hi2 && lo2 <= hi))) return false;
  }
  return true;
}

function lintMessage(m: DbcMessage, problems: LintProblem[]): void {
  const where = `message ${m.name} (${m.extended ? 'extended ' : ''}id 0x${m.id.toString(16)})`;
  if (m.length > 64) {
    problems.push({
      severity: 'error',
      code: 'MESSAGE_TOO_LONG',
      message: `${where} has length ${m.length} > 64`,
      line: m.line,
    });
  } else if (m.length > 8 && !m.isFd) {
    problems.push({
      severity: 'info',
      code: 'LONG_CLASSIC_MESSAGE',
      message: `${where} is ${m.length} bytes but not marked CAN FD (VFrameFormat)`,
      line: m.line,
    });
  }
  const names = new Set<string>();
  const bits = new Map<number, DbcSignal[]>();
  const byName = new Map(m.signals.map((s) => [s.name, s]));
  for (const s of m.signals) {
    if (names.has(s.name)) {
      problems.push({
        severity: 'error',
        code: 'DUPLICATE_SIGNAL',
        message: `${where}: signal ${s.name} is defined twice`,
        line: s.line,
      });
    }
    names.add(s.name);
    if (s.length < 1) continue;
    if (bytesNeeded(s) > m.length) {
      problems.push({
        severity: 'error',
        code: 'SIGNAL_OUTSIDE_MESSAGE',
        message: `${where}: signal ${s.name} (start ${s.startBit}, ${s.length} bits, ${s.byteOrder}) needs ${bytesNeeded(s)} bytes; it is never decoded`,
        line: s.line,
      });
      continue;
    }
    if (s.minimum > s.maximum) {
      problems.push({
        severity: 'warning',
        code: 'BAD_RANGE',
        message: `${where}: signal ${s.name} has minimum > maximum`,
        line: s.line,
      });
    }
    if (s.factor === 0) {
      problems.push({
        severity: 'warning',
        code: 'ZERO_FACTOR',
        message: `${where}: signal ${s.name} has factor 0`,
        line: s.line,
      });
    }
    if (s.multiplexerSignal !== undefined) {
      const sw = byName.get(s.multiplexerSignal);
      if (sw && !sw.isMultiplexer) {
        problems.push({
          severity: 'error',
          code: 'BAD_MULTIPLEXER',
          message: `${where}: signal ${s.name} is selected by ${sw.name}, which is not a multiplexer (M); it is never decoded`,
          line: s.line,
        });
      }
      if (s.multiplexerRanges === undefined) {
        problems.push({
          severity: 'error',
          code: 'BAD_MULTIPLEXER',
          message: `${where}: signal ${s.name} has a multiplexer but no selector values; it is never decoded`,
          line: s.line,
        });
      }
    }
    if (s.length > 512) continue;
    for (const b of signalBitPositions(s)) {
      const list = bits.get(b) ?? [];
      list.push(s);
      bits.set(b, list);
    }
  }
  const reported = new Set<string>();
  for (const list of bits.values()) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        const key = `${a.name}\u0000${b.name}`;
        if (reported.has(key) || !canCoexist(a, b, byName)) continue;
        reported.add(key);
        problems.push({
          severity: 'warning',
          code: 'OVERLAPPING_SIGNALS',
          message: `${where}: signals ${a.name} and ${b.name} overlap`,
          line: b.line,
        });
      }
    }
  }
}

/** Lint a parsed database. */
export function lintDbc(db: DbcDatabase): LintReport {
  const problems: LintProblem[] = db.warnings.map((w) => ({
    severity: 'warning' as const,
    code: w.code,
    message: `${w.message} (column ${w.column})`,
    ...(w.line > 0 ? { line: w.line } : {}),
  }));
  const ids = new Map<string, DbcMessage>();
  const names = new Map<string, DbcMessage>();
  for (const m of db.messages) {
    const key = `${m.extended ? 'x' : 's'}${m.id}`;
    const prev = ids.get(key);
    if (prev) {
      problems.push({
        severity: 'error',
        code: 'DUPLICATE_ID',
        message: `messages ${prev.name} and ${m.name} share id 0x${m.id.toString(16)}; ${m.name} (the later) is used`,
        line: m.line,
      });
    }
    ids.set(key, m);
    const prevName = names.get(m.name);
    if (prevName) {
      problems.push({
        severity: 'warning',
        code: 'DUPLICATE_NAME',
        message: `two messages are named ${m.name}`,
        line: m.line,
      });
    }
    names.set(m.name, m);
    lintMessage(m, problems);
  }
  const signals = db.messages.reduce((n, m) => n + m.signals.length, 0);
  return {
    version: db.version,
    encoding: db.encoding,
    nodes: db.nodes.length,
    messages: db.messages.length,
    signals,
    multiplexedMessages: db.messages.filter((m) => m.signals.some((s) => s.isMultiplexer)).length,
    extendedMessages: db.messages.filter((m) => m.extended).length,
    fdMessages: db.messages.filter((m) => m.isFd).length,
    floatSignals: db.messages.reduce(
      (n, m) => n + m.signals.filter((s) => s.valueType !== 'integer').length,
      0,
    ),
    problems,
  };
}

/** Human-readable report. */
export function formatLintReport(file: string, r: LintReport, db: DbcDatabase): string {
  const lines = [
    `${file}: DBC version "${r.version}", ${r.encoding}`,
    `  ${r.nodes} nodes, ${r.messages} messages (${r.extendedMessages} extended, ${r.fdMessages} CAN FD, ${r.multiplexedMessages} multiplexed), ${r.signals} signals (${r.floatSignals} float)`,
    '',
    'messages:',
  ];
  for (const m of db.messages) {
    lines.push(
      `  0x${m.id.toString(16).padStart(m.extended ? 8 : 3, '0')}${m.extended ? 'x' : ' '} ${m.name} [${m.length} bytes, ${m.signals.length} signals${m.isFd ? ', FD' : ''}]`,
    );
  }
  const counts = { error: 0, warning: 0, info: 0 };
  for (const p of r.problems) counts[p.severity]++;
  lines.push('', `problems: ${counts.error} errors, ${counts.warning} warnings, ${counts.info} notes`);
  for (const p of r.problems) {
    lines.push(
      `  ${p.severity.padEnd(7)} ${p.line !== undefined ? `line ${p.line}: ` : ''}${p.message} [${p.code}]`,
    );
  }
  return `${lines.join('\n')}\n`;
}
