/**
 * Simulation scripts (`fleetwire simulate --script FILE`): scripted telemetry values, sent in order one
 * step per message, and scripted answers to commands.
 *
 * ```json
 * {
 *   "loop": true,
 *   "steps": [
 *     {"VehicleDynamics": {"Speed": 0, "Gear": 0}},
 *     {"VehicleDynamics": {"Speed": 12.5, "Gear": 3}, "BatteryStatus": {"StateOfCharge": 80}}
 *   ],
 *   "commands": {"SET_MODE": "SUCCEEDED", "RESET_ERROR": {"status": "FAILED", "detail": "still hot"}, "*": "SUCCEEDED"}
 * }
 * ```
 *
 * A bare array is a list of steps. What a step holds depends on the format (docs/local.md): CAN messages
 * and their signals (flexconnect-binary), flat `field: value` maps (flexconnect-json, protobuf), the EMS
 * body (`{"battery": {"soc": 80}}`), ExoSense channels (`{"001": 21.5}`) or DialTone
 * `{"dev_data": {…}, "chans": {"0": [1.5, 2]}}`.
 */
import { z } from 'zod';
import { FleetwireError } from '../core/errors.js';

/** What a simulated device answers to a command. */
export const COMMAND_OUTCOMES = ['SUCCEEDED', 'FAILED', 'REJECTED', 'ACK_ONLY', 'IGNORE'] as const;
/** One of {@link COMMAND_OUTCOMES}: a final status, acknowledge only, or no answer at all. */
export type CommandOutcome = (typeof COMMAND_OUTCOMES)[number];

/** A scripted answer. */
export interface ScriptedAnswer {
  status: CommandOutcome;
  detail?: string;
}

/** A parsed script. */
export interface SimScript {
  /** Start again after the last step. */
  loop: boolean;
  /** Steps, one per message (their shape is checked by the format's generator). */
  steps: Record<string, unknown>[];
  /** Answers by action; `*` is the default. */
  commands: Record<string, ScriptedAnswer>;
}

/** A script that cannot be used. */
export class ScriptError extends FleetwireError {}

const Answer = z.union([
  z.enum(COMMAND_OUTCOMES),
  z.strictObject({ status: z.enum(COMMAND_OUTCOMES), detail: z.string().max(1024).optional() }),
]);
const Step = z.record(z.string().max(256), z.unknown());
const ScriptFile = z.union([
  z.array(Step).max(100_000),
  z.strictObject({
    loop: z.boolean().default(true),
    steps: z.array(Step).max(100_000).default([]),
    commands: z.record(z.string().regex(/^(\*|[A-Za-z][A-Za-z0-9_]{0,63})$/), Answer).default({}),
  }),
]);

/** Parse a script from its JSON text. Throws {@link ScriptError} (`SCHEMA_VIOLATION`/`INVALID_JSON`). */
export function parseScript(text: string): SimScript {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ScriptError('INVALID_JSON', `script is not JSON: ${(e as Error).message}`);
  }
  const r = ScriptFile.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'script';
    throw new ScriptError('SCHEMA_VIOLATION', `${where}: ${issue?.message ?? 'invalid'}`);
  }
  if (Array.isArray(r.data)) return { loop: true, steps: r.data, commands: {} };
  const commands: Record<string, ScriptedAnswer> = Object.create(null) as Record<string, ScriptedAnswer>;
  for (const [action, a] of Object.entries(r.data.commands)) {
    commands[action] = typeof a === 'string' ? { status: a } : { ...a };
  }
  return { loop: r.data.loop, steps: r.data.steps, commands };
}

/** The scripted answer to `action`, if the script has one (exact action first, then `*`). */
export function scriptedAnswer(script: SimScript | undefined, action: string): ScriptedAnswer | undefined {
  if (!script) return undefined;
  if (Object.hasOwn(script.commands, action)) return script.commands[action];
  return Object.hasOwn(script.commands, '*') ? script.commands['*'] : undefined;
}
