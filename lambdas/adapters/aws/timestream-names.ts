/**
 * Column naming for the Timestream telemetry table. Field names become measure value names and point tags
 * become `tag.<key>` dimensions; both share the table's column namespace with the fixed `tenant` and
 * `device` dimensions and Timestream's system columns. Names Timestream refuses (`time`, `measure_name`,
 * `measure_value…`, `ts_…`, anything with a colon) or that would collide with our own columns are escaped
 * reversibly, so a field called `time` or `a:b` is stored rather than rejected and the query side can map
 * columns back with {@link decodeColumnName}.
 *
 * Escaping: `%` and `:` are percent-encoded (`%25`, `%3A`); a name that is still reserved afterwards gets
 * the prefix `%_`. Because every literal `%` is encoded, a leading `%_` can only be that prefix.
 */
import { TELEMETRY_DIMENSIONS } from '../../core/deployment-contract.js';

/** Prefix of dimensions that carry point tags. */
export const TAG_DIMENSION_PREFIX = 'tag.';

/** Column names Timestream reserves outright. */
const RESERVED_EXACT = new Set(['time', 'measure_name', 'measure_value']);
/** Prefixes Timestream reserves (`ts_…`, `measure_value…`). */
const RESERVED_PREFIXES = ['ts_', 'measure_value'];
/** Our own fixed dimension columns. */
const OWN_COLUMNS = new Set<string>([TELEMETRY_DIMENSIONS.tenant, TELEMETRY_DIMENSIONS.device]);

function isReserved(name: string): boolean {
  const lower = name.toLowerCase();
  if (RESERVED_EXACT.has(lower) || OWN_COLUMNS.has(lower)) return true;
  if (lower.startsWith(TAG_DIMENSION_PREFIX)) return true;
  return RESERVED_PREFIXES.some((p) => lower.startsWith(p));
}

function percentEncode(name: string): string {
  return name.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

/** The measure value name (column) for a field name. Reversible with {@link decodeColumnName}. */
export function fieldColumnName(field: string): string {
  const encoded = percentEncode(field);
  return isReserved(encoded) ? `%_${encoded}` : encoded;
}

/** The dimension name (column) for a tag key: `tag.<key>` with `%` and `:` percent-encoded. */
export function tagDimensionName(key: string): string {
  return TAG_DIMENSION_PREFIX + percentEncode(key);
}

/** Map a field column name back to the field name (inverse of {@link fieldColumnName}). */
export function decodeColumnName(column: string): string {
  const body = column.startsWith('%_') ? column.slice(2) : column;
  return body.replace(/%25|%3A/g, (m) => (m === '%25' ? '%' : ':'));
}

/** Map a tag dimension name back to the tag key; `undefined` for a column that is not a tag. */
export function decodeTagDimensionName(column: string): string | undefined {
  if (!column.startsWith(TAG_DIMENSION_PREFIX)) return undefined;
  return decodeColumnName(column.slice(TAG_DIMENSION_PREFIX.length));
}
