/**
 * Generated record builders for recurring message shapes.
 *
 * Why: a device sends the same shape every time, and storing a few hundred flattened names one by one
 * into a null-prototype (dictionary-mode) record costs about as much as JSON.parse of the message. An
 * object literal listing every name at once is created from a boilerplate with all its properties in
 * place, then only its values are filled in; `Object.setPrototypeOf(o, null)` afterwards keeps the
 * record fast while still giving it no prototype.
 *
 * A shape is the exact sequence of field names (the same string objects, handed out by the name memo
 * in field-names.ts, so matching is a pointer comparison per name). A builder is compiled only the
 * second time a shape is seen, only for shapes of distinct names (verified by the generic build) and at
 * most {@link MAX_BUILDER_FIELDS} names (past that V8 keeps any object in dictionary mode, so a literal
 * gains nothing). The cache is bounded ({@link MAX_SHAPES}; when full it starts over), so hostile
 * payloads with ever-new shapes cost at most one generic build each, as before.
 */
import type { FieldValue } from '../model/point.js';

/** Most names a generated builder takes (V8 turns larger objects into dictionaries anyway). */
export const MAX_BUILDER_FIELDS = 1000;
/** Most shapes remembered before the cache starts over. */
export const MAX_SHAPES = 64;

type Builder = (values: readonly FieldValue[]) => Record<string, FieldValue>;

interface Shape {
  readonly names: readonly string[];
  seen: number;
  build: Builder | undefined;
}

let shapes = new Map<number, Shape[]>();
let shapeCount = 0;

/**
 * Build the null-prototype record `{names[i]: values[i]}` of distinct `names`. Returns undefined when
 * the names are not (yet) a known duplicate-free shape: the caller then builds generically and, if it
 * found no duplicate, reports the shape with {@link rememberShape}.
 */
export function buildKnownShape(
  names: readonly string[],
  values: readonly FieldValue[],
): Record<string, FieldValue> | undefined {
  const shape = findShape(names);
  if (shape === undefined) return undefined;
  if (shape.build === undefined) {
    if (++shape.seen < 2) return undefined;
    shape.build = compile(shape.names);
  }
  const o = shape.build(values);
  Object.setPrototypeOf(o, null);
  return o;
}

/** Remember `names` (a copy is not taken: the caller must not mutate it) as a duplicate-free shape. */
export function rememberShape(names: readonly string[]): void {
  if (names.length === 0 || names.length > MAX_BUILDER_FIELDS || findShape(names) !== undefined) return;
  // "__proto__" as a literal key would set the prototype instead of a field; checkName forbids it, but
  // never let a literal depend on that.
  if (names.includes('__proto__')) return;
  if (shapeCount >= MAX_SHAPES) {
    shapes = new Map();
    shapeCount = 0;
  }
  let list = shapes.get(names.length);
  if (list === undefined) {
    list = [];
    shapes.set(names.length, list);
  }
  list.push({ names, seen: 1, build: undefined });
  shapeCount++;
}

function findShape(names: readonly string[]): Shape | undefined {
  const list = shapes.get(names.length);
  if (list === undefined) return undefined;
  for (const shape of list) if (sameNames(shape.names, names)) return shape;
  return undefined;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compile(names: readonly string[]): Builder {
  // Every name is embedded as a JSON string literal (JSON.stringify escapes quotes, backslashes and
  // control characters), so no name can break out of its literal.
  const body = names.map((n, i) => `${JSON.stringify(n)}:v[${i}]`).join(',');
  return new Function('v', `"use strict";return{${body}};`) as Builder;
}
