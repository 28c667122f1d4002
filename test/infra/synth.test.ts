import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildTestApp } from './app.js';

interface ValidationReport {
  pluginReports?: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
}

describe('synthesis', () => {
  // The built-in CloudFormation validation (what `cdk synth` runs) is on for this one app only: it is
  // the slow part of synthesis.
  const t = buildTestApp({}, { validation: true });
  const asm = t.app.synth();

  it('produces the stateful and the ingest stack, ingest deploying after stateful', () => {
    const names = asm.stacks.map((s) => s.stackName).sort();
    expect(names).toEqual(['Fleetwire-dev-Api', 'Fleetwire-dev-Ingest', 'Fleetwire-dev-Stateful']);
    const ingest = asm.getStackByName('Fleetwire-dev-Ingest');
    expect(ingest.dependencies.map((d) => d.id)).toContain(t.stateful.artifactId);
    expect(Object.keys(ingest.template.Resources ?? {}).length).toBeGreaterThan(10);
  });

  it('has no error-level validation findings, and the Timestream W3697 warning is acknowledged', () => {
    const path = join(asm.directory, 'validation-report.json');
    const report: ValidationReport = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
    const violations = (report.pluginReports ?? []).flatMap((p) => p.violations);
    expect(violations.filter((v) => v.severity === 'error' || v.severity === 'fatal')).toEqual([]);
    expect(violations.filter((v) => v.ruleName.includes('W3697'))).toEqual([]);
    for (const resource of [t.stateful.timestream.database, t.stateful.timestream.table]) {
      const acks = resource.node.metadata.filter(
        (m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY,
      );
      expect(JSON.stringify(acks)).toContain('W3697');
      expect(JSON.stringify(acks)).toContain('TelemetryStore port');
    }
  });

  it('tags every stack with the project and environment', () => {
    for (const s of [t.stateful, t.ingest]) {
      expect(s.tags.tagValues()).toMatchObject({ project: 'fleetwire', environment: 'dev' });
    }
  });

  it('protects the prod stateful stack from deletion', () => {
    const prod = buildTestApp({ 'fleetwire:env': 'prod' });
    expect(prod.stateful.terminationProtection).toBe(true);
    expect(t.stateful.terminationProtection).toBe(false);
  });

  it('rejects invalid environment names', () => {
    expect(() => buildTestApp({ 'fleetwire:env': 'Prod!' })).toThrow(/environment name/);
  });
});
