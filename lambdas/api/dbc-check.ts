/**
 * The DBC check run on every uploaded DBC file: parse with the DBC engine and keep its lint report with the
 * file. A file the engine cannot parse is `invalid` (and cannot be assigned); lint errors such as duplicate
 * ids are reported but do not block, since the engine still decodes with a documented rule.
 */
import { parseDbc } from '../core/dbc/index.js';
import { lintDbc } from '../core/dbc/lint.js';
import { isFleetwireError } from '../core/errors.js';
import type { DbcCheck } from './deps.js';

/** Most findings kept with a file. */
const MAX_FINDINGS = 200;

/** Check DBC bytes with the DBC engine. */
export function checkDbcWithEngine(bytes: Uint8Array): DbcCheck {
  try {
    const report = lintDbc(parseDbc(bytes));
    return {
      ok: true,
      messages: report.messages,
      signals: report.signals,
      findings: report.problems.slice(0, MAX_FINDINGS).map((p) => ({
        severity: p.severity,
        code: p.code,
        message: p.message.slice(0, 500),
        ...(p.line !== undefined ? { line: p.line } : {}),
      })),
    };
  } catch (e) {
    if (!isFleetwireError(e)) throw e;
    const line = typeof e.details.line === 'number' ? e.details.line : undefined;
    return {
      ok: false,
      messages: 0,
      signals: 0,
      findings: [
        {
          severity: 'error',
          code: e.code,
          message: e.message.slice(0, 500),
          ...(line !== undefined ? { line } : {}),
        },
      ],
    };
  }
}
