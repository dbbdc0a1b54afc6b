import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../../..');
const rules = readFileSync(join(root, 'infra/prometheus/kumo-alerts.yml'), 'utf8');
const runbooks = readFileSync(join(root, 'docs/operations.md'), 'utf8');
const metricsDir = join(root, 'packages/runtime/src/metrics');
const declared = readdirSync(metricsDir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => readFileSync(join(metricsDir, f), 'utf8'))
  .join('\n');

const alerts = [...rules.matchAll(/- alert: (\w+)\n\s+expr: (.+)\n/g)].map((m) => ({ name: m[1] as string, expr: m[2] as string }));

describe('alert rules', () => {
  it('are all parsed (one expression each)', () => {
    expect(alerts.length).toBe([...rules.matchAll(/- alert:/g)].length);
    expect(alerts.length).toBeGreaterThanOrEqual(20);
  });

  it.each(alerts.map((a) => [a.name, a.expr]))('%s has a runbook in docs/operations.md and a link to it', (name) => {
    expect(runbooks).toContain(`\n### ${name}\n`);
    expect(rules).toContain(`runbook: "docs/operations.md#${name.toLowerCase()}"`);
  });

  it.each(alerts.map((a) => [a.name, a.expr]))('%s uses only declared metrics: %s', (_name, expr) => {
    for (const [metric] of expr.matchAll(/kumo_[a-z0-9_]+/g)) {
      // prom-client default metrics carry the kumo_ prefix (registry.ts); the rest are declared by name.
      if (/^kumo_(process|nodejs)_/.test(metric)) continue;
      const base = metric.replace(/_(bucket|sum|count)$/, '');
      expect(declared, metric).toContain(`'${base}'`);
    }
  });

  it('covers every "must stay 0" of the docs', () => {
    for (const m of ['kumo_billing_dead_letters', 'kumo_billing_reconcile_mismatches_total', 'kumo_sip_cdr_publish_failures_total']) {
      expect(rules).toContain(m);
    }
  });

  it('has one gateway-health signal: the sip pinger\'s kumo_trunk_gateways, not the ops prober\'s gateway probe', () => {
    expect(alerts.filter((a) => /kind="gateway"/.test(a.expr))).toEqual([]);
    expect(alerts.filter((a) => a.expr.includes('kumo_trunk_gateways{state="down"}) > 0') && !a.expr.includes(' and ')).map((a) => a.name)).toEqual(['KumoTrunkGatewayDown']);
    expect(runbooks).not.toContain('### KumoGatewayDown');
  });

  it('pages on the probe account\'s REGISTER and call-loop probes (engine-register, engine-call)', () => {
    const engine = alerts.find((a) => a.name === 'KumoEngineProbeFailing');
    expect(engine?.expr).toBe('kumo_ops_probe_failing_targets{kind=~"engine-.*"} > 0');
    for (const kind of ['engine-options', 'engine-register', 'engine-call']) expect(new RegExp('^engine-.*$').test(kind)).toBe(true);
  });

  it('fires on the toll-fraud spend limit (the counter the sip guard moves when a tenant reaches its hourly spend)', () => {
    expect(alerts.find((a) => a.name === 'KumoTollSpendExceeded')?.expr).toBe('increase(kumo_toll_fraud_spend_trips_total[10m]) > 0');
    expect(declared).toContain("'kumo_toll_fraud_spend_trips_total'");
  });
});
