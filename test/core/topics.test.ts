import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFleetwireError } from '../../lambdas/core/errors.js';
import { PAYLOAD_FORMATS } from '../../lambdas/core/model/point.js';
import {
  basicIngestTopic,
  buildIngestRuleEvent,
  checkTopicName,
  commandTopic,
  devicePolicyTopics,
  ingestRules,
  isValidTopicFilter,
  matchTopicFilter,
  parseCommandTopic,
  parseTelemetryTopic,
  RULE_SQL_VERSION,
  resolveTopicConfig,
  ruleSql,
  rulesForTopic,
  splitBasicIngest,
  TELEMETRY_FORMATS,
  THING_NAME_VARIABLE,
  TOPIC_LIMITS,
  TopicError,
  telemetryTopic,
} from '../../lambdas/core/topics.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isFleetwireError(e) ? e.code : 'UNTYPED';
  }
  return undefined;
}

const thingArb = fc.stringMatching(/^[a-zA-Z0-9:_-]{1,40}$/);

describe('topic scheme', () => {
  it('parses every dt/<app>/<thing>/<format> topic back into its parts', () => {
    fc.assert(
      fc.property(thingArb, fc.constantFrom(...TELEMETRY_FORMATS), (thing, format) => {
        const topic = telemetryTopic('fleetwire', thing, format);
        expect(parseTelemetryTopic(topic, thing)).toEqual({ family: 'dt', app: 'fleetwire', thing, format });
        // n/a (not MQTT) and an absent client id do not contradict the topic
        expect(parseTelemetryTopic(topic, 'n/a').thing).toBe(thing);
        expect(parseTelemetryTopic(topic).thing).toBe(thing);
      }),
    );
  });

  it('accepts the Basic Ingest form of a topic and strips the prefix', () => {
    const route = parseTelemetryTopic('$aws/rules/fleetwire_dt_ems/dt/fleetwire/dev-1/ems', 'dev-1');
    expect(route).toEqual({ family: 'dt', app: 'fleetwire', thing: 'dev-1', format: 'ems' });
    expect(splitBasicIngest('$aws/rules/r1/dt/a/b/auto')).toEqual({ ruleName: 'r1', topic: 'dt/a/b/auto' });
    expect(splitBasicIngest('$aws/rules/r1')).toBeUndefined();
    expect(splitBasicIngest('$aws/rules//x')).toBeUndefined();
    expect(splitBasicIngest('dt/a/b/auto')).toBeUndefined();
  });

  it('takes FlexConnect identity from the client id and the format from the topic', () => {
    expect(parseTelemetryTopic('flexconnect/mqtt_topic', 'truck-7')).toEqual({
      family: 'flexconnect',
      app: undefined,
      thing: 'truck-7',
      format: 'flexconnect-json',
    });
    expect(parseTelemetryTopic('flexconnect/mqtt_topic_binary', 'truck-7').format).toBe('flexconnect-binary');
    expect(codeOf(() => parseTelemetryTopic('flexconnect/mqtt_topic', 'n/a'))).toBe('INVALID_TOPIC');
    expect(codeOf(() => parseTelemetryTopic('flexconnect/mqtt_topic'))).toBe('INVALID_TOPIC');
  });

  it('rejects a topic that names another device than the client', () => {
    expect(codeOf(() => parseTelemetryTopic('dt/fleetwire/dev-2/ems', 'dev-1'))).toBe(
      'TOPIC_IDENTITY_MISMATCH',
    );
  });

  it('rejects malformed telemetry topics with typed errors', () => {
    const bad = [
      '',
      'dt/fleetwire/dev-1',
      'dt/fleetwire/dev-1/ems/extra',
      'dt/fleetwire/dev-1/csv',
      'dt/Fleet_Wire/dev-1/ems',
      'dt/fleetwire/dev 1/ems',
      'dt/fleetwire/+/ems',
      'dt/fleetwire/#',
      'cmd/fleetwire/dev-1/ack',
      'flexconnect/other',
      'dt/fleetwire/__proto__/constructor',
      `dt/fleetwire/${'x'.repeat(129)}/ems`,
    ];
    for (const t of bad)
      expect(
        codeOf(() => parseTelemetryTopic(t, 'dev-1')),
        t,
      ).toBe('INVALID_TOPIC');
  });

  it('never throws untyped errors on arbitrary topics and client ids', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.option(fc.string({ maxLength: 40 })), (topic, cid) => {
        const code = codeOf(() => parseTelemetryTopic(topic, cid ?? undefined));
        expect(code === undefined || code === 'INVALID_TOPIC' || code === 'TOPIC_IDENTITY_MISMATCH').toBe(
          true,
        );
        expect(code).not.toBe('UNTYPED');
      }),
    );
  });

  it('enforces the 256-byte and 7-slash limits, without counting the Basic Ingest prefix', () => {
    const seven = 'a/b/c/d/e/f/g/h';
    expect(checkTopicName(seven)).toBe(seven);
    expect(codeOf(() => checkTopicName(`${seven}/i`))).toBe('INVALID_TOPIC');
    expect(checkTopicName(basicIngestTopic('rule', seven))).toBe(`$aws/rules/rule/${seven}`);
    const max = 'x'.repeat(TOPIC_LIMITS.maxBytes);
    expect(checkTopicName(max)).toBe(max);
    expect(checkTopicName(basicIngestTopic('rule', max))).toContain(max);
    expect(codeOf(() => checkTopicName(`${max}x`))).toBe('INVALID_TOPIC');
    // bytes, not characters: 128 two-byte characters are 256 bytes, 129 are too many
    expect(checkTopicName('é'.repeat(128))).toHaveLength(128);
    expect(codeOf(() => checkTopicName('é'.repeat(129)))).toBe('INVALID_TOPIC');
    try {
      checkTopicName(`${seven}/i`);
    } catch (e) {
      expect(e).toBeInstanceOf(TopicError);
      expect((e as TopicError).details).toMatchObject({ slashes: 8, limit: 7 });
    }
  });

  it('keeps every generated topic within the IoT Core limits for the longest thing name', () => {
    const thing = 'x'.repeat(128);
    for (const rule of ingestRules()) {
      const topic = rule.family === 'dt' ? telemetryTopic('fleetwire', thing, rule.format) : rule.filter;
      expect(checkTopicName(basicIngestTopic(rule.name, topic))).toBeTruthy();
    }
    expect(checkTopicName(commandTopic('fleetwire', thing, 'req'))).toBeTruthy();
  });

  it('parses command topics', () => {
    expect(parseCommandTopic('cmd/fleetwire/dev-1/ack')).toEqual({
      app: 'fleetwire',
      thing: 'dev-1',
      kind: 'ack',
    });
    expect(codeOf(() => parseCommandTopic('cmd/fleetwire/dev-1/other'))).toBe('INVALID_TOPIC');
    expect(codeOf(() => parseCommandTopic('dt/fleetwire/dev-1/ems'))).toBe('INVALID_TOPIC');
  });

  it('validates the deployment topic config', () => {
    expect(resolveTopicConfig()).toEqual({ app: 'fleetwire', rulePrefix: 'fleetwire' });
    expect(resolveTopicConfig({ app: 'fleet-dev', rulePrefix: 'fleet_dev' })).toEqual({
      app: 'fleet-dev',
      rulePrefix: 'fleet_dev',
    });
    for (const app of ['', 'Fleet', 'a/b', '-x', 'x-', 'a'.repeat(33), '+', '#']) {
      expect(
        codeOf(() => resolveTopicConfig({ app })),
        app,
      ).toBe('INVALID_TOPIC');
    }
    expect(resolveTopicConfig({ rulePrefix: `a${'b'.repeat(31)}` }).rulePrefix).toHaveLength(32);
    for (const rulePrefix of ['', '1abc', 'a-b', 'a/b', "a'b", `a${'b'.repeat(32)}`]) {
      expect(
        codeOf(() => resolveTopicConfig({ rulePrefix })),
        rulePrefix,
      ).toBe('INVALID_TOPIC');
    }
  });
});

describe('topic filter matching', () => {
  it('implements MQTT wildcard semantics', () => {
    const cases: [string, string, boolean][] = [
      ['dt/+/+/ems', 'dt/fleetwire/dev-1/ems', true],
      ['dt/+/+/ems', 'dt/fleetwire/dev-1/auto', false],
      ['dt/+/+/ems', 'dt/fleetwire/ems', false],
      ['dt/#', 'dt', true],
      ['dt/#', 'dt/a/b/c', true],
      ['#', 'dt/a', true],
      ['#', '$aws/rules/x/y', false],
      ['+/rules/#', '$aws/rules/x', false],
      ['$aws/rules/#', '$aws/rules/x', true],
      ['a/+', 'a/', true],
      ['a/+', 'a', false],
      ['a/b', 'a/b', true],
      ['a/b', 'a/b/c', false],
      ['a/+/c', 'a//c', true],
    ];
    for (const [f, t, want] of cases) expect(matchTopicFilter(f, t), `${f} ~ ${t}`).toBe(want);
  });

  it('matches a topic against itself and against # and level-wise + filters', () => {
    const level = fc.stringMatching(/^[a-z0-9-]{0,6}$/);
    fc.assert(
      fc.property(fc.array(level, { minLength: 1, maxLength: 8 }), (levels) => {
        const topic = levels.join('/');
        expect(matchTopicFilter(topic, topic)).toBe(true);
        expect(matchTopicFilter('#', topic)).toBe(true);
        expect(matchTopicFilter(levels.map(() => '+').join('/'), topic)).toBe(true);
        expect(matchTopicFilter([...levels.map(() => '+'), '+'].join('/'), topic)).toBe(false);
      }),
    );
  });

  it('validates filter syntax', () => {
    for (const f of ['a/#', '#', '+', 'a/+/b', 'dt/fleetwire/+/ems'])
      expect(isValidTopicFilter(f), f).toBe(true);
    for (const f of ['', 'a/#/b', 'a+/b', 'a/b#', 'a/\u0000']) expect(isValidTopicFilter(f), f).toBe(false);
  });
});

describe('ingest rules', () => {
  const rules = ingestRules();

  it('defines one rule per telemetry format plus the two FlexConnect topics, with unique valid names', () => {
    expect(rules).toHaveLength(TELEMETRY_FORMATS.length + 2);
    expect(new Set(rules.map((r) => r.name)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.name).toMatch(/^[a-zA-Z0-9_]{1,128}$/);
      expect(r.name).toBe(`fleetwire_${r.suffix}`);
      expect(isValidTopicFilter(r.filter)).toBe(true);
    }
    expect(rules.map((r) => r.filter)).toEqual([
      ...PAYLOAD_FORMATS.map((f) => `dt/fleetwire/+/${f}`),
      'dt/fleetwire/+/auto',
      'flexconnect/mqtt_topic',
      'flexconnect/mqtt_topic_binary',
    ]);
  });

  it('uses the same binary-safe SELECT for every rule', () => {
    expect(RULE_SQL_VERSION).toBe('2016-03-23');
    for (const r of rules) {
      expect(r.sql).toBe(
        "SELECT encode(*, 'base64') AS payload, topic() AS topic, clientid() AS clientId, " +
          `principal() AS principal, timestamp() AS receivedAt FROM '${r.filter}'`,
      );
    }
    expect(codeOf(() => ruleSql("a/'b"))).toBe('INVALID_TOPIC');
    expect(codeOf(() => ruleSql('a/#/b'))).toBe('INVALID_TOPIC');
  });

  it('routes each rule topic to exactly its rule, and the format agrees with the parsed topic', () => {
    for (const r of rules) {
      const topic = r.family === 'dt' ? telemetryTopic('fleetwire', 'dev-1', r.format) : r.filter;
      expect(rulesForTopic(topic, rules).map((x) => x.name)).toEqual([r.name]);
      expect(parseTelemetryTopic(topic, 'dev-1').format).toBe(r.format);
      expect(rulesForTopic(basicIngestTopic(r.name, topic), rules).map((x) => x.name)).toEqual([r.name]);
    }
    expect(rulesForTopic('dt/other-app/dev-1/ems', rules)).toEqual([]);
    expect(rulesForTopic('cmd/fleetwire/dev-1/ack', rules)).toEqual([]);
    expect(rulesForTopic('$aws/rules/unknown/dt/fleetwire/dev-1/ems', rules)).toEqual([]);
  });

  it('follows the configured app and rule prefix', () => {
    const custom = ingestRules({ app: 'acme', rulePrefix: 'acme_prod' });
    expect(custom[0]?.name).toBe('acme_prod_dt_flexconnect_json');
    expect(custom[0]?.filter).toBe('dt/acme/+/flexconnect-json');
  });
});

describe('device policy topics', () => {
  const p = devicePolicyTopics();
  const publish = [...p.publishTelemetry, ...p.publishBasicIngest, ...p.publishCommand];

  it('grants only exact, thing-scoped topics (no wildcards)', () => {
    for (const t of [...publish, ...p.subscribe, ...p.receive]) {
      expect(t, t).not.toMatch(/[*#+]/);
    }
    const own = publish.filter((t) => !t.includes('flexconnect/mqtt_topic'));
    for (const t of own) expect(t).toContain(THING_NAME_VARIABLE);
    expect(p.clientId).toBe(THING_NAME_VARIABLE);
  });

  it('lets a device publish on its telemetry topics (direct and Basic Ingest) and its command acks', () => {
    const thing = THING_NAME_VARIABLE;
    expect(p.publishTelemetry).toContain(`dt/fleetwire/${thing}/ems`);
    expect(p.publishBasicIngest).toContain(`$aws/rules/fleetwire_dt_ems/dt/fleetwire/${thing}/ems`);
    expect(p.publishTelemetry).toContain('flexconnect/mqtt_topic_binary');
    expect(p.publishBasicIngest).toContain(
      '$aws/rules/fleetwire_flexconnect_binary/flexconnect/mqtt_topic_binary',
    );
    expect(p.publishCommand).toEqual([`cmd/fleetwire/${thing}/ack`, `cmd/fleetwire/${thing}/res`]);
    expect(publish).not.toContain(`cmd/fleetwire/${thing}/req`);
    expect(p.publishTelemetry).toHaveLength(ingestRules().length);
    expect(p.publishBasicIngest).toHaveLength(ingestRules().length);
    expect(p.subscribe).toEqual([`cmd/fleetwire/${thing}/req`]);
    expect(p.receive).toEqual([`cmd/fleetwire/${thing}/req`]);
  });

  it('every telemetry policy topic, with a real thing name, is routed to one rule that parses it back', () => {
    const rules = ingestRules();
    for (const template of [...p.publishTelemetry, ...p.publishBasicIngest]) {
      const topic = template.replace(THING_NAME_VARIABLE, 'dev-9');
      const hit = rulesForTopic(topic, rules);
      expect(hit, topic).toHaveLength(1);
      expect(parseTelemetryTopic(topic, 'dev-9').thing).toBe('dev-9');
    }
  });
});

describe('ingest rule events', () => {
  it('builds the rule event shape with base64 payload and the prefix-free topic', () => {
    const payload = new Uint8Array([0, 1, 2, 0xfc, 0xff]);
    const ev = buildIngestRuleEvent({
      payload: payload.subarray(1),
      topic: '$aws/rules/fleetwire_dt_auto/dt/fleetwire/dev-1/auto',
      clientId: 'dev-1',
      principal: 'abc',
      receivedAt: 1700000000000,
    });
    expect(ev).toEqual({
      payload: Buffer.from([1, 2, 0xfc, 0xff]).toString('base64'),
      topic: 'dt/fleetwire/dev-1/auto',
      clientId: 'dev-1',
      principal: 'abc',
      receivedAt: 1700000000000,
    });
  });
});
