/**
 * The ExoSense channel contract (`config_io`) and application configuration (`config_applications`),
 * as zod schemas that follow ExoSense's published config-io validation schema (seed 003), plus the check
 * of control values (`SET_CHANNELS`, ExoSense `data_out`) against a channel's `control`, `range` and `enum`.
 *
 * Unknown keys are kept (the published schema does not forbid them) but everything is bounded, and keys
 * that could reach an object prototype are refused.
 */
import { z } from 'zod';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Channel identifiers: ExoSense's production pattern, bounded, never a prototype key. */
export const ChannelId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[-+#%()\t /0-9:A-Z_a-z]+$/, 'channel id has characters outside ExoSense’s pattern')
  .refine((k) => !FORBIDDEN_KEYS.has(k), 'channel id is a reserved word');

const Text = z.string().max(1024);
const NullableNumber = z.number().nullable();
const SafeRecord = z
  .record(
    z
      .string()
      .max(128)
      .refine((k) => !FORBIDDEN_KEYS.has(k), 'reserved key'),
    z.unknown(),
  )
  .refine((o) => Object.keys(o).length <= 256, 'too many keys');

/** `properties` of a channel. */
const ChannelProperties = z.looseObject({
  data_type: z
    .string()
    .regex(/^[A-Z_]+$/, 'data_type must be upper-case letters and underscores')
    .max(64),
  primitive_type: z.enum(['BOOLEAN', 'NUMERIC', 'STRING', 'JSON']).optional(),
  data_unit: z
    .string()
    .regex(/^[A-Z_]+$/)
    .max(64)
    .nullable()
    .optional(),
  precision: z.number().int().nullable().optional(),
  locked: z.boolean().optional(),
  control: z.boolean().optional(),
  min: NullableNumber.optional(),
  max: NullableNumber.optional(),
  device_diagnostic: z.boolean().optional(),
});

/** `protocol_config` of a channel. */
const ProtocolConfig = z.looseObject({
  sample_rate: z.number().int().nonnegative().optional(),
  report_rate: z.number().int().nonnegative().optional(),
  timeout: z.number().int().nonnegative().nullable().optional(),
  report_on_change: z.boolean().optional(),
  down_sample: z.enum(['MIN', 'MAX', 'AVG', 'ACT']).optional(),
  application: Text.optional(),
  interface: Text.nullable().optional(),
  app_specific_config: SafeRecord.optional(),
  input_raw: z
    .looseObject({
      max: z.number().optional(),
      min: z.number().optional(),
      // The published schema says number but every example uses a unit name ("mA"): accept both.
      unit: z.union([z.string().max(64), z.number()]).optional(),
    })
    .optional(),
  multiplier: z.number().optional(),
  offset: z.number().optional(),
});

/** `control_properties` of a control channel. */
const ControlProperties = z.looseObject({
  range: z.looseObject({ min: NullableNumber.optional(), max: NullableNumber.optional() }).optional(),
  enum: z.array(z.string().max(256)).max(256).optional(),
});

/** One channel of the contract. */
export const Channel = z
  .looseObject({
    display_name: Text,
    description: Text.optional(),
    properties: ChannelProperties,
    protocol_config: ProtocolConfig.optional(),
    control_properties: ControlProperties.optional(),
  })
  .describe('One ExoSense channel (config_io.channels.<id>)');
/** A channel. */
export type Channel = z.infer<typeof Channel>;

/** The ExoSense `config_io` channel contract. */
export const ConfigIo = z
  .looseObject({
    last_edited: z.string().max(64),
    last_editor: Text.optional(),
    // The published schema says string; ExoSense's own examples send `{}`. Accept both.
    meta: z.union([Text, SafeRecord]).optional(),
    locked: z.boolean().optional(),
    channels: z
      .record(ChannelId, Channel)
      .refine((c) => Object.keys(c).length <= 1024, 'at most 1024 channels'),
  })
  .describe('ExoSense config_io channel contract');
/** A channel contract. */
export type ConfigIo = z.infer<typeof ConfigIo>;

/** One interface of an application in `config_applications`. */
const AppInterface = z.looseObject({ interface: Text.optional() });

/** The ExoSense `config_applications` object. */
export const ConfigApplications = z
  .looseObject({
    last_edited: z.string().max(64),
    last_editor: Text.optional(),
    applications: z
      .record(
        ChannelId,
        z.looseObject({
          application_display_name: Text.optional(),
          app_specific_config_options: SafeRecord.optional(),
          interfaces: z.array(AppInterface).max(64).optional(),
        }),
      )
      .refine((a) => Object.keys(a).length <= 64, 'at most 64 applications'),
  })
  .describe('ExoSense config_applications');
/** Application configuration. */
export type ConfigApplications = z.infer<typeof ConfigApplications>;

/** One rejected control value. */
export interface ControlProblem {
  channel: string;
  reason: string;
}

type Primitive = 'BOOLEAN' | 'NUMERIC' | 'STRING' | 'JSON';

/** The primitive type of a channel: explicit `primitive_type`, else inferred from `data_type`. */
export function primitiveOf(ch: Channel): Primitive {
  const p = ch.properties.primitive_type;
  if (p) return p;
  switch (ch.properties.data_type) {
    case 'BOOLEAN':
      return 'BOOLEAN';
    case 'STRING':
      return 'STRING';
    case 'JSON':
    case 'LOCATION':
      return 'JSON';
    default:
      return 'NUMERIC';
  }
}

/**
 * Check `{channelId: value}` control requests against a contract. Every value must name a channel with
 * `control: true`, have the channel's primitive type, be one of `enum` when there is one, and lie inside
 * `range` when there is one. Returns every problem (empty when all values are acceptable).
 */
export function checkControlValues(
  contract: ConfigIo | undefined,
  values: Record<string, unknown>,
): ControlProblem[] {
  const problems: ControlProblem[] = [];
  const entries = Object.entries(values);
  if (entries.length === 0) return [{ channel: '', reason: 'no channel values given' }];
  for (const [id, value] of entries) {
    const ch = contract && Object.hasOwn(contract.channels, id) ? contract.channels[id] : undefined;
    if (!ch) {
      problems.push({ channel: id, reason: 'no such channel in the device’s config_io' });
      continue;
    }
    if (ch.properties.control !== true) {
      problems.push({ channel: id, reason: 'channel is not a control channel' });
      continue;
    }
    const allowed = ch.control_properties?.enum;
    if (allowed && allowed.length > 0) {
      if (typeof value !== 'string' || !allowed.includes(value)) {
        problems.push({ channel: id, reason: `value must be one of ${allowed.join(', ')}` });
      }
      continue;
    }
    const prim = primitiveOf(ch);
    if (prim === 'BOOLEAN' && typeof value !== 'boolean') {
      problems.push({ channel: id, reason: 'value must be a boolean' });
    } else if (prim === 'STRING' && typeof value !== 'string') {
      problems.push({ channel: id, reason: 'value must be a string' });
    } else if (prim === 'JSON' && (value === null || value === undefined)) {
      problems.push({ channel: id, reason: 'value must be a JSON value' });
    } else if (prim === 'NUMERIC') {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        problems.push({ channel: id, reason: 'value must be a finite number' });
        continue;
      }
      const range = ch.control_properties?.range;
      const min = range?.min;
      const max = range?.max;
      if (typeof min === 'number' && value < min)
        problems.push({ channel: id, reason: `value is below ${min}` });
      else if (typeof max === 'number' && value > max)
        problems.push({ channel: id, reason: `value is above ${max}` });
    }
  }
  return problems;
}
