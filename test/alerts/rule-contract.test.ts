import { describe, expect, it } from 'vitest';
import { BUILTIN_DEVICE_ERROR_ID, builtinRules, withBuiltins } from '../../lambdas/core/alerts/builtin.js';
import { contractRange, contractTimeoutMs, ruleFromContract } from '../../lambdas/core/alerts/contract.js';
import { CHANNEL_ERROR_SUFFIX, EMS_ERROR_FLAGS_FIELD } from '../../lambdas/core/alerts/device-errors.js';
import { applyRulePatch, RuleInput } from '../../lambdas/core/alerts/rule.js';
import { inScope, RuleSet } from '../../lambdas/core/alerts/rule-set.js';
import { decodePayload } from '../../lambdas/core/codecs/index.js';
import { isFleetwireError } from '../../lambdas/core/errors.js';

/** The config_io example of seed 003 (channels 001–005). */
const CONFIG_IO = {
  last_edited: '2026-01-01T00:00:00Z',
  channels: {
    '001': {
      display_name: 'Valve Open Status',
      properties: { data_type: 'BOOLEAN' },
      protocol_config: { timeout: 60000 },
    },
    '002': {
      display_name: 'Temperature',
      properties: { data_type: 'TEMPERATURE', data_unit: 'DEG_CELSIUS', min: 16, max: 35 },
      protocol_config: { report_rate: 10000, timeout: 300000 },
    },
    '003': {
      display_name: 'Location',
      properties: { data_type: 'LOCATION' },
      protocol_config: { timeout: 360000 },
    },
    '004': { display_name: 'Valve Control', properties: { data_type: 'BOOLEAN', control: true } },
  },
};

describe('rule validation', () => {
  const ok = { name: 'hot', field: 'battery.temperature', condition: { op: 'above', threshold: 80 } };

  it('applies defaults', () => {
    expect(RuleInput.parse(ok)).toEqual({
      ...ok,
      scope: { kind: 'all' },
      forMs: 0,
      severity: 'warning',
      renotifyMs: 0,
      enabled: true,
    });
  });

  it.each([
    [
      'clear threshold on the wrong side',
      { ...ok, condition: { op: 'above', threshold: 80, clearThreshold: 85 } },
    ],
    [
      'below with clear under threshold',
      { ...ok, condition: { op: 'below', threshold: 10, clearThreshold: 5 } },
    ],
    ['inverted range', { ...ok, condition: { op: 'outside', min: 5, max: 1 } }],
    ['clear band outside range', { ...ok, condition: { op: 'outside', min: 0, max: 10, clearMin: -1 } }],
    ['empty clear band', { ...ok, condition: { op: 'outside', min: 0, max: 10, clearMin: 8, clearMax: 2 } }],
    ['NaN threshold', { ...ok, condition: { op: 'above', threshold: Number.NaN } }],
    ['Infinity threshold', { ...ok, condition: { op: 'above', threshold: Number.POSITIVE_INFINITY } }],
    ['unknown op', { ...ok, condition: { op: 'regex', value: '.*' } }],
    ['unknown key', { ...ok, colour: 'red' }],
    ['prototype field', { ...ok, field: '__proto__' }],
    ['empty field', { ...ok, field: '' }],
    ['negative for', { ...ok, forMs: -1 }],
    ['renotify too often', { ...ok, renotifyMs: 1000 }],
    ['for on changed', { ...ok, condition: { op: 'changed' }, forMs: 1000 }],
    [
      'clear on stale',
      { ...ok, condition: { op: 'stale', afterMs: 60000 }, clear: { op: 'above', threshold: 1 } },
    ],
    ['* on a threshold', { ...ok, field: '*' }],
    ['* stale without afterMs', { ...ok, field: '*', condition: { op: 'stale' } }],
    ['stale under a second', { ...ok, condition: { op: 'stale', afterMs: 10 } }],
    [
      'both clear forms',
      {
        ...ok,
        condition: { op: 'above', threshold: 80, clearThreshold: 70 },
        clear: { op: 'below', threshold: 60 },
      },
    ],
    ['bad severity', { ...ok, severity: 'apocalyptic' }],
    ['bad scope', { ...ok, scope: { kind: 'tag' } }],
  ])('rejects %s', (_name, input) => {
    expect(RuleInput.safeParse(input).success).toBe(false);
  });

  it('patches re-validate the whole rule', () => {
    const base = RuleInput.parse({ ...ok, condition: { op: 'above', threshold: 80, clearThreshold: 75 } });
    expect(applyRulePatch(base, { severity: 'critical' }).severity).toBe('critical');
    expect(() => applyRulePatch(base, { condition: { op: 'changed' }, forMs: 5000 })).toThrow();
    const withDesc = applyRulePatch(base, { description: 'x' });
    expect(applyRulePatch(withDesc, { description: null }).description).toBeUndefined();
  });
});

describe('scopes and the rule index', () => {
  const device = { deviceId: 'd1', tags: { site: 'north', fleet: 'a' } };
  it('matches all, one device, a tag key, a tag value', () => {
    expect(inScope({ kind: 'all' }, device)).toBe(true);
    expect(inScope({ kind: 'device', deviceId: 'd1' }, device)).toBe(true);
    expect(inScope({ kind: 'device', deviceId: 'd2' }, device)).toBe(false);
    expect(inScope({ kind: 'tag', key: 'site' }, device)).toBe(true);
    expect(inScope({ kind: 'tag', key: 'site', value: 'north' }, device)).toBe(true);
    expect(inScope({ kind: 'tag', key: 'site', value: 'south' }, device)).toBe(false);
    expect(inScope({ kind: 'tag', key: 'toString' }, device)).toBe(false);
  });

  it('finds candidates by field, plus the device-error rule; skips disabled and out-of-scope rules', () => {
    const mk = (id: string, field: string, extra: object = {}) => ({
      ...RuleInput.parse({ name: id, field, condition: { op: 'above', threshold: 1 }, ...extra }),
      id,
      tenant: 't',
      createdAt: 0,
      updatedAt: 0,
      version: 1,
    });
    const set = new RuleSet([
      ...builtinRules('t'),
      mk('a', 'x'),
      mk('b', 'y'),
      mk('c', 'x', { enabled: false }),
      mk('d', 'x', { scope: { kind: 'device', deviceId: 'other' } }),
    ]);
    expect(set.size).toBe(4);
    const ids = set
      .candidates(device, [{ x: 1 }, { z: 2 }])
      .map((e) => e.rule.id)
      .sort();
    expect(ids).toEqual(['a', BUILTIN_DEVICE_ERROR_ID]);
  });

  it('stored overrides replace built-in defaults', () => {
    const [builtin] = builtinRules('t');
    if (!builtin) throw new Error('no builtin');
    const merged = withBuiltins('t', [{ ...builtin, enabled: false, version: 1 }]);
    expect(merged).toHaveLength(1);
    expect(merged[0]?.enabled).toBe(false);
  });
});

describe('channel contract helpers', () => {
  it('reads timeouts and ranges, including sub-fields of object channels', () => {
    expect(contractTimeoutMs(CONFIG_IO, '002')).toBe(300000);
    expect(contractTimeoutMs(CONFIG_IO, '003.lat')).toBe(360000);
    expect(contractTimeoutMs(CONFIG_IO, '004')).toBeUndefined();
    expect(contractTimeoutMs(CONFIG_IO, '999')).toBeUndefined();
    expect(contractTimeoutMs(undefined, '002')).toBeUndefined();
    expect(contractTimeoutMs({ channels: { a: { protocol_config: { timeout: -5 } } } }, 'a')).toBeUndefined();
    expect(contractTimeoutMs({ channels: [] }, '0')).toBeUndefined();
    expect(contractRange(CONFIG_IO, '002')).toEqual({ min: 16, max: 35 });
    expect(contractRange(CONFIG_IO, '001')).toEqual({});
    expect(
      contractTimeoutMs(
        JSON.parse('{"channels":{"__proto__":{"protocol_config":{"timeout":5}}}}'),
        'toString',
      ),
    ).toBeUndefined();
  });

  it('makes a one-click range rule with hysteresis', () => {
    const input = ruleFromContract(CONFIG_IO, {
      kind: 'range',
      channel: '002',
      scope: { kind: 'device', deviceId: 'exo-1' },
    });
    const rule = RuleInput.parse(input);
    expect(rule).toMatchObject({
      name: 'Temperature out of range',
      field: '002',
      condition: { op: 'outside', min: 16, max: 35, clearMin: 16.38, clearMax: 34.62 },
      scope: { kind: 'device', deviceId: 'exo-1' },
    });
  });

  it('makes a stale rule that follows the contract timeout', () => {
    const rule = RuleInput.parse(
      ruleFromContract(CONFIG_IO, { kind: 'stale', channel: '002', scope: { kind: 'all' } }),
    );
    expect(rule.condition).toEqual({ op: 'stale' });
    expect(rule.name).toBe('Temperature silent');
  });

  it('refuses channels without what the rule needs, with a typed error', () => {
    for (const [kind, channel] of [
      ['range', '001'],
      ['range', '999'],
      ['stale', '004'],
    ] as const) {
      try {
        ruleFromContract(CONFIG_IO, { kind, channel, scope: { kind: 'all' } });
        expect.unreachable();
      } catch (e) {
        expect(isFleetwireError(e) && e.code).toBe('ALERT_RULE_INVALID');
      }
    }
  });
});

describe('device errors as the codecs produce them', () => {
  it('EMS error_flags and ExoSense __error arrive in the fields the device-error rule reads', () => {
    // The message shape of seed 002 (EMS telemetry), with an active error flag.
    const ems = decodePayload(
      new TextEncoder().encode(
        JSON.stringify({
          device_id: 'ems_001',
          timestamp: '2026-01-31T12:00:01Z',
          system_status: { state: 'ERROR', mode: 'AUTO', error_flags: ['OVERHEAT'], wifi_strength: -45 },
          battery: { voltage: 53.2 },
        }),
      ),
      'ems',
      { device: 'ems_001', receivedAt: Date.UTC(2026, 0, 31) },
    );
    expect(ems.points[0]?.fields[EMS_ERROR_FLAGS_FIELD]).toBe('["OVERHEAT"]');
    const exo = decodePayload(
      new TextEncoder().encode(JSON.stringify({ '001': true, __error: { '004': 'sensor disconnected' } })),
      'exosense',
      { device: 'exo-1', receivedAt: Date.UTC(2026, 0, 31) },
    );
    expect(exo.points[0]?.fields[`004${CHANNEL_ERROR_SUFFIX}`]).toBe('sensor disconnected');
  });
});
