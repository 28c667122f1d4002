/**
 * The MQTT topic scheme: the one definition read by the CDK topic rules and IoT policy (lib/) and by the
 * local MQTT router. Pure: no AWS imports, no clock, no env. Documented in docs/topics.md.
 *
 * Families:
 * - telemetry `dt/<app>/<thing>/<format>` — format is one of {@link TELEMETRY_FORMATS};
 * - commands `cmd/<app>/<thing>/<kind>` — `req` (cloud → device), `ack` and `res` (device → cloud);
 * - FlexConnect-compatible `flexconnect/mqtt_topic` (JSON) and `flexconnect/mqtt_topic_binary`, whose
 *   device identity is the MQTT client id;
 * - Basic Ingest: any telemetry topic prefixed with `$aws/rules/<rule-name>/`.
 */
import { FleetwireError } from './errors.js';
import { type FormatSelector, PAYLOAD_FORMATS, type PayloadFormat } from './model/point.js';

/** Every format a telemetry topic can name: the concrete payload formats and `auto`. */
export const TELEMETRY_FORMATS: readonly FormatSelector[] = Object.freeze([...PAYLOAD_FORMATS, 'auto']);

/** Command topic kinds: `req` is delivered to the device; `ack` and `res` are published by it. */
export const COMMAND_KINDS = ['req', 'ack', 'res'] as const;
/** A command topic kind. */
export type CommandKind = (typeof COMMAND_KINDS)[number];

/** FlexConnect-compatible topics (from the FlexConnect developer guide) and the format each implies. */
export const FLEXCONNECT_TOPICS: Readonly<Record<string, PayloadFormat>> = Object.freeze({
  'flexconnect/mqtt_topic': 'flexconnect-json',
  'flexconnect/mqtt_topic_binary': 'flexconnect-binary',
});

/** SQL version of every rule; 2016-03-23 is the version AWS recommends (and CloudFormation does not default to). */
export const RULE_SQL_VERSION = '2016-03-23';

/** Prefix of Basic Ingest topics: `$aws/rules/<rule-name>/<topic>`. */
export const BASIC_INGEST_PREFIX = '$aws/rules/';

/** IoT Core limits on a topic name, counted without the Basic Ingest prefix (aws-facts.md §1). */
export const TOPIC_LIMITS = Object.freeze({ maxBytes: 256, maxSlashes: 7 });

/** AWS IoT thing names: 1–128 of `[a-zA-Z0-9:_-]` (the same pattern as CreateThing). */
export const THING_NAME_PATTERN = /^[a-zA-Z0-9:_-]{1,128}$/;
/** Application segment: lowercase letters, digits and dashes (the topic-design recommendation), ≤ 32. */
export const APP_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
/**
 * Rule-name prefix: IoT rule names allow only `[a-zA-Z0-9_]`. Capped at 32 characters because every
 * Basic Ingest topic in the device policy repeats it and an IoT policy document is limited in size.
 */
export const RULE_PREFIX_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]{0,31}$/;

/** The IoT policy variable that resolves to the connected device's thing name. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: an IoT policy variable, substituted by IoT Core, not JS.
export const THING_NAME_VARIABLE = '${iot:Connection.Thing.ThingName}';

/** `clientid()` returns this for messages that did not arrive over MQTT (aws-facts.md §1). */
export const NO_CLIENT_ID = 'n/a';

/** Deployment-wide topic settings. */
export interface TopicConfig {
  /** The `<app>` segment of `dt/` and `cmd/` topics. @default 'fleetwire' */
  readonly app: string;
  /** Prefix of every topic rule name (also the Basic Ingest rule segment). @default 'fleetwire' */
  readonly rulePrefix: string;
}

/** The defaults of {@link TopicConfig}. */
export const DEFAULT_TOPIC_CONFIG: Readonly<TopicConfig> = Object.freeze({
  app: 'fleetwire',
  rulePrefix: 'fleetwire',
});

/** A topic that is not part of the scheme, breaks an IoT limit, or names another device. */
export class TopicError extends FleetwireError {}

/**
 * The event every ingest rule hands to the ingest Lambda (one shape for every rule, built by
 * {@link ruleSql}). The local router builds the same shape with {@link buildIngestRuleEvent}.
 */
export interface IngestRuleEvent {
  /** The raw MQTT payload, base64 (`encode(*, 'base64')`): binary-safe for every format. */
  payload: string;
  /** The MQTT topic, without the Basic Ingest prefix (`topic()`). */
  topic: string;
  /** MQTT client id of the publisher (`clientid()`); {@link NO_CLIENT_ID} when not sent over MQTT. */
  clientId: string;
  /** The authenticated principal: the X.509 certificate id/thumbprint (`principal()`). */
  principal: string;
  /** When IoT Core received the message, epoch ms (`timestamp()`). */
  receivedAt: number;
}

/** What a telemetry topic says about a message. */
export interface TelemetryRoute {
  /** `dt` for the recommended scheme, `flexconnect` for the FlexConnect-compatible topics. */
  family: 'dt' | 'flexconnect';
  /** The `<app>` segment; `undefined` for FlexConnect topics, which have none. */
  app: string | undefined;
  /** The device (thing name): from the topic for `dt/`, from the client id for `flexconnect/`. */
  thing: string;
  /** The payload format the topic implies (`auto`: detect from the bytes). */
  format: FormatSelector;
}

/** What a command topic says. */
export interface CommandRoute {
  app: string;
  thing: string;
  kind: CommandKind;
}

/** One topic rule: everything the CDK needs to create it and the local router needs to apply it. */
export interface IngestRuleDefinition {
  /** Rule name (`[a-zA-Z0-9_]`), unique per account and region; also the Basic Ingest segment. */
  readonly name: string;
  /** Stable suffix of the name, usable as a construct id (`dt_ems`, `flexconnect_json`). */
  readonly suffix: string;
  /** Topic family the rule serves. */
  readonly family: 'dt' | 'flexconnect';
  /** The MQTT topic filter of the rule's FROM clause. */
  readonly filter: string;
  /** The format messages matched by this rule carry. */
  readonly format: FormatSelector;
  /** The complete rule SQL ({@link RULE_SQL_VERSION}). */
  readonly sql: string;
  /** Human-readable description (CloudFormation `Description`). */
  readonly description: string;
}

/**
 * Topic templates of the device IoT policy, with {@link THING_NAME_VARIABLE} where the thing goes, grouped
 * by concern (an IoT policy document is limited to 2048 characters, so the CDK splits them).
 */
export interface DevicePolicyTopics {
  /** Client id the device must connect with (`iot:Connect`, resource `client/…`). */
  readonly clientId: string;
  /** Direct telemetry topics the device may publish to (`iot:Publish`, resource `topic/…`). */
  readonly publishTelemetry: readonly string[];
  /** Basic Ingest forms of the telemetry topics (`iot:Publish`, resource `topic/$aws/rules/…`). */
  readonly publishBasicIngest: readonly string[];
  /** Command acknowledgement/result topics the device may publish to. */
  readonly publishCommand: readonly string[];
  /** Topic filters the device may subscribe to (`iot:Subscribe`, resource `topicfilter/…`). */
  readonly subscribe: readonly string[];
  /** Topic names the device may receive from (`iot:Receive`, resource `topic/…`). */
  readonly receive: readonly string[];
}

/** Validate and complete a {@link TopicConfig}. Throws {@link TopicError} on a bad value. */
export function resolveTopicConfig(config: Partial<TopicConfig> = {}): TopicConfig {
  const app = config.app ?? DEFAULT_TOPIC_CONFIG.app;
  const rulePrefix = config.rulePrefix ?? DEFAULT_TOPIC_CONFIG.rulePrefix;
  if (!APP_NAME_PATTERN.test(app)) {
    throw new TopicError('INVALID_TOPIC', `app "${app}" must match ${APP_NAME_PATTERN}`);
  }
  if (!RULE_PREFIX_PATTERN.test(rulePrefix)) {
    throw new TopicError('INVALID_TOPIC', `rule prefix "${rulePrefix}" must match ${RULE_PREFIX_PATTERN}`);
  }
  return { app, rulePrefix };
}

/** The telemetry topic of a device: `dt/<app>/<thing>/<format>`. */
export function telemetryTopic(app: string, thing: string, format: FormatSelector): string {
  return `dt/${app}/${thing}/${format}`;
}

/** A command topic of a device: `cmd/<app>/<thing>/<kind>`. */
export function commandTopic(app: string, thing: string, kind: CommandKind): string {
  return `cmd/${app}/${thing}/${kind}`;
}

/** The Basic Ingest form of `topic` for rule `ruleName`: `$aws/rules/<ruleName>/<topic>`. */
export function basicIngestTopic(ruleName: string, topic: string): string {
  return `${BASIC_INGEST_PREFIX}${ruleName}/${topic}`;
}

/**
 * Split a Basic Ingest topic into its rule name and the topic the rule sees (what `topic()` returns).
 * `undefined` when `topic` is not a Basic Ingest topic.
 */
export function splitBasicIngest(topic: string): { ruleName: string; topic: string } | undefined {
  if (!topic.startsWith(BASIC_INGEST_PREFIX)) return undefined;
  const rest = topic.slice(BASIC_INGEST_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { ruleName: rest.slice(0, slash), topic: rest.slice(slash + 1) };
}

/**
 * Check a topic name against IoT Core's limits (≤ 256 bytes, ≤ 7 slashes, Basic Ingest prefix excluded)
 * and MQTT's rules for topic names (no wildcards, no NUL, not empty). Returns the topic unchanged.
 */
export function checkTopicName(topic: string): string {
  const inner = splitBasicIngest(topic)?.topic ?? topic;
  if (inner.length === 0) throw new TopicError('INVALID_TOPIC', 'Topic is empty');
  if (/[+#\u0000]/.test(inner)) {
    throw new TopicError('INVALID_TOPIC', 'Topic names must not contain wildcards or NUL');
  }
  const bytes = Buffer.byteLength(inner, 'utf8');
  if (bytes > TOPIC_LIMITS.maxBytes) {
    throw new TopicError(
      'INVALID_TOPIC',
      `Topic is ${bytes} bytes; IoT Core allows ${TOPIC_LIMITS.maxBytes}`,
      {
        bytes,
        limit: TOPIC_LIMITS.maxBytes,
      },
    );
  }
  const slashes = inner.split('/').length - 1;
  if (slashes > TOPIC_LIMITS.maxSlashes) {
    throw new TopicError(
      'INVALID_TOPIC',
      `Topic has ${slashes} slashes; IoT Core allows ${TOPIC_LIMITS.maxSlashes}`,
      { slashes, limit: TOPIC_LIMITS.maxSlashes },
    );
  }
  return topic;
}

/** True when `clientId` is a real MQTT client id that could name a thing. */
function isThingName(s: string): boolean {
  return THING_NAME_PATTERN.test(s);
}

/**
 * Parse a telemetry topic (as `topic()` returns it: Basic Ingest prefix already removed; a prefixed topic
 * is accepted too) into the device and format it implies.
 *
 * Identity: for `dt/` topics the thing comes from the topic and, when `clientId` is a real client id, must
 * equal it (the IoT policy already enforces this on AWS; the check is defence in depth and is what the
 * local broker relies on). For `flexconnect/` topics the thing is the client id, which must then be a
 * valid thing name. Throws {@link TopicError} (`INVALID_TOPIC`, `TOPIC_IDENTITY_MISMATCH`).
 */
export function parseTelemetryTopic(topic: string, clientId?: string): TelemetryRoute {
  const name = splitBasicIngest(checkTopicName(topic))?.topic ?? topic;
  const flex = Object.hasOwn(FLEXCONNECT_TOPICS, name) ? FLEXCONNECT_TOPICS[name] : undefined;
  if (flex !== undefined) {
    if (clientId === undefined || !isThingName(clientId)) {
      throw new TopicError(
        'INVALID_TOPIC',
        'FlexConnect topics need an MQTT client id that is the thing name',
        { topic: name },
      );
    }
    return { family: 'flexconnect', app: undefined, thing: clientId, format: flex };
  }
  const parts = name.split('/');
  const [family, app, thing, format] = parts;
  if (parts.length !== 4 || family !== 'dt' || app === undefined || thing === undefined) {
    throw new TopicError('INVALID_TOPIC', 'Telemetry topics are dt/<app>/<thing>/<format>', { topic: name });
  }
  if (!APP_NAME_PATTERN.test(app)) {
    throw new TopicError('INVALID_TOPIC', 'Topic app segment is malformed', { topic: name });
  }
  if (!isThingName(thing)) {
    throw new TopicError('INVALID_TOPIC', 'Topic thing segment is not a valid thing name', { topic: name });
  }
  const fmt = TELEMETRY_FORMATS.find((f) => f === format);
  if (fmt === undefined) {
    throw new TopicError('INVALID_TOPIC', `Unknown format "${format}" in topic`, { topic: name });
  }
  if (clientId !== undefined && clientId !== NO_CLIENT_ID && clientId !== thing) {
    throw new TopicError('TOPIC_IDENTITY_MISMATCH', 'Topic names a different device than the client id', {
      topic: name,
    });
  }
  return { family: 'dt', app, thing, format: fmt };
}

/** Parse a command topic `cmd/<app>/<thing>/<kind>`. Throws {@link TopicError}. */
export function parseCommandTopic(topic: string): CommandRoute {
  const name = splitBasicIngest(checkTopicName(topic))?.topic ?? topic;
  const parts = name.split('/');
  const [family, app, thing, kind] = parts;
  const k = COMMAND_KINDS.find((x) => x === kind);
  if (
    parts.length !== 4 ||
    family !== 'cmd' ||
    app === undefined ||
    !APP_NAME_PATTERN.test(app) ||
    thing === undefined ||
    !isThingName(thing) ||
    k === undefined
  ) {
    throw new TopicError('INVALID_TOPIC', 'Command topics are cmd/<app>/<thing>/req|ack|res', {
      topic: name,
    });
  }
  return { app, thing, kind: k };
}

/**
 * MQTT topic-filter matching (MQTT 3.1.1 §4.7): `+` matches one level, a trailing `#` matches the parent
 * and any number of levels; filters starting with a wildcard never match topics starting with `$`.
 */
export function matchTopicFilter(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const seg = f[i];
    if (seg === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (seg !== '+' && seg !== t[i]) return false;
  }
  return f.length === t.length;
}

/** True for a syntactically valid MQTT topic filter (wildcards only as whole levels, `#` last). */
export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every(
    (l, i) => (l === '#' && i === levels.length - 1) || l === '+' || (!l.includes('+') && !l.includes('#')),
  );
}

/**
 * The SQL of an ingest rule: the raw payload as base64 (binary-safe for every format), plus the topic,
 * client id, principal and receive time: exactly the fields of {@link IngestRuleEvent}.
 */
export function ruleSql(filter: string): string {
  if (!isValidTopicFilter(filter) || filter.includes("'")) {
    throw new TopicError('INVALID_TOPIC', `Invalid topic filter "${filter}"`);
  }
  return (
    "SELECT encode(*, 'base64') AS payload, topic() AS topic, clientid() AS clientId, " +
    `principal() AS principal, timestamp() AS receivedAt FROM '${filter}'`
  );
}

/**
 * Every ingest rule of a deployment: one per telemetry format on `dt/<app>/+/<format>`, and one per
 * FlexConnect topic. All target the ingest Lambda and produce an {@link IngestRuleEvent}.
 */
export function ingestRules(config: Partial<TopicConfig> = {}): readonly IngestRuleDefinition[] {
  const { app, rulePrefix } = resolveTopicConfig(config);
  const rules: IngestRuleDefinition[] = TELEMETRY_FORMATS.map((format) => {
    const suffix = `dt_${format.replaceAll('-', '_')}`;
    const filter = telemetryTopic(app, '+', format);
    return {
      name: `${rulePrefix}_${suffix}`,
      suffix,
      family: 'dt',
      filter,
      format,
      sql: ruleSql(filter),
      description: `Fleetwire ingest: ${format} telemetry on ${filter} (and its Basic Ingest form)`,
    };
  });
  for (const [topic, format] of Object.entries(FLEXCONNECT_TOPICS)) {
    const suffix = `flexconnect_${format === 'flexconnect-binary' ? 'binary' : 'json'}`;
    rules.push({
      name: `${rulePrefix}_${suffix}`,
      suffix,
      family: 'flexconnect',
      filter: topic,
      format,
      sql: ruleSql(topic),
      description: `Fleetwire ingest: FlexConnect-compatible ${format} on ${topic} (identity from client id)`,
    });
  }
  return Object.freeze(rules);
}

/**
 * The rules that receive a message published on `topic`, as IoT Core would route it: a Basic Ingest topic
 * goes to the named rule only (and not through the broker; IoT Core does not apply the rule's FROM filter
 * to it), any other topic to every rule whose filter matches.
 */
export function rulesForTopic(
  topic: string,
  rules: readonly IngestRuleDefinition[],
): readonly IngestRuleDefinition[] {
  const basic = splitBasicIngest(topic);
  if (basic) return rules.filter((r) => r.name === basic.ruleName);
  return rules.filter((r) => matchTopicFilter(r.filter, topic));
}

/**
 * Topic templates for the device IoT policy: the device connects only as its own thing, publishes only
 * on its own telemetry topics (direct and Basic Ingest), the FlexConnect topics and its own command
 * `ack`/`res` topics, and subscribes/receives only its own command `req` topic. Every entry is an exact
 * topic (no `*`, `+` or `#`), so Device Defender's overly-permissive-policy check has nothing to flag.
 */
export function devicePolicyTopics(config: Partial<TopicConfig> = {}): DevicePolicyTopics {
  const cfg = resolveTopicConfig(config);
  const thing = THING_NAME_VARIABLE;
  const publishTelemetry: string[] = [];
  const publishBasicIngest: string[] = [];
  for (const rule of ingestRules(cfg)) {
    const direct = rule.family === 'dt' ? telemetryTopic(cfg.app, thing, rule.format) : rule.filter;
    publishTelemetry.push(direct);
    publishBasicIngest.push(basicIngestTopic(rule.name, direct));
  }
  const req = commandTopic(cfg.app, thing, 'req');
  return {
    clientId: thing,
    publishTelemetry,
    publishBasicIngest,
    publishCommand: [commandTopic(cfg.app, thing, 'ack'), commandTopic(cfg.app, thing, 'res')],
    subscribe: [req],
    receive: [req],
  };
}

/**
 * Build the event an ingest rule would produce for a message (used by the local router so the handler
 * sees the same input locally as on AWS). `topic` may carry the Basic Ingest prefix; it is removed, as
 * `topic()` does.
 */
export function buildIngestRuleEvent(message: {
  payload: Uint8Array;
  topic: string;
  clientId: string;
  principal: string;
  receivedAt: number;
}): IngestRuleEvent {
  return {
    payload: Buffer.from(
      message.payload.buffer,
      message.payload.byteOffset,
      message.payload.byteLength,
    ).toString('base64'),
    topic: splitBasicIngest(message.topic)?.topic ?? message.topic,
    clientId: message.clientId,
    principal: message.principal,
    receivedAt: message.receivedAt,
  };
}
