import { describe, expect, it } from 'vitest';
import {
  mergeForkFailures,
  onAttemptFailed,
  planRoute,
  stepTimeoutMs,
  type AttemptFailure,
  type ExtensionView,
  type TenantRoutingView,
} from '../index.js';

const exts: ExtensionView[] = [
  { number: '1001', outboundCallerId: '+81312340001' },
  { number: '1002', forwarding: { busy: '1003', noAnswer: '1004' } },
  { number: '1003' },
  { number: '1004' },
];
const t: TenantRoutingView = {
  id: 'acme',
  extensions: new Map(exts.map((e) => [e.number, e])),
  groups: new Map([
    [
      '200',
      {
        number: '200',
        strategy: 'sequential',
        totalTimeoutSec: 60,
        members: [
          { extension: '1003', timeoutSec: 15 },
          { extension: '1004', timeoutSec: 15 },
        ],
        overflow: '1001',
      },
    ],
  ]),
  trunks: [
    {
      id: 'carrier',
      numberFormat: 'e164',
      gateways: [
        { host: '127.0.0.1', port: 5061, transport: 'udp', priority: 1 },
        { host: '127.0.0.1', port: 5062, transport: 'udp', priority: 2 },
      ],
    },
  ],
  dids: new Map(),
};
const regs = new Map(['1001', '1002', '1003', '1004'].map((e) => [e, [{ uri: `sip:${e}@127.0.0.1` }]]));
const me = { kind: 'extension', extension: '1001' } as const;
const trunkPlan = planRoute('00312345678', me, t, regs);
const extPlan = planRoute('1002', me, t, regs);

const resp = (status: number, earlyMedia = false): AttemptFailure => ({ kind: 'response', status, earlyMedia });

describe('onAttemptFailed: trunk failover', () => {
  it.each([
    [resp(503), 'try'],
    [resp(500), 'try'],
    [resp(502), 'try'],
    [resp(408), 'try'],
    [{ kind: 'setup-timeout' } as const, 'try'],
    [{ kind: 'transport-error' } as const, 'try'],
    [resp(503, true), 'stop'],
    [{ kind: 'transport-error', earlyMedia: true } as const, 'stop'],
    [resp(487), 'stop'],
    [{ kind: 'caller-cancelled' } as const, 'stop'],
    [resp(486), 'stop'],
    [resp(404), 'stop'],
    [resp(403), 'stop'],
    [resp(484), 'stop'],
    [resp(603), 'stop'],
    [{ kind: 'no-answer-timeout' } as const, 'stop'],
  ] as const)('gateway 1 %o → %s', (f, action) => {
    const d = onAttemptFailed(trunkPlan, { step: 0 }, f);
    expect(d.action).toBe(action);
    if (d.action === 'try') expect(d.step).toBe(1);
  });

  it('relays the final status after the last gateway', () => {
    expect(onAttemptFailed(trunkPlan, { step: 1 }, resp(503))).toMatchObject({ action: 'stop', stop: { status: 503 } });
    expect(onAttemptFailed(trunkPlan, { step: 1 }, { kind: 'setup-timeout' })).toMatchObject({ action: 'stop', stop: { status: 408 } });
    expect(onAttemptFailed(trunkPlan, { step: 1 }, { kind: 'transport-error' })).toMatchObject({ action: 'stop', stop: { status: 503 } });
  });

  it.each([
    [resp(486), 486],
    [resp(404), 404],
    [resp(487), 487],
    [{ kind: 'caller-cancelled' } as const, 487],
    [resp(503, true), 503],
  ] as const)('%o ends with %i', (f, status) => {
    const d = onAttemptFailed(trunkPlan, { step: 0 }, f);
    expect(d).toMatchObject({ action: 'stop', stop: { status } });
  });
});

describe('onAttemptFailed: extension forwarding', () => {
  const step = 0;
  const toExt = (d: ReturnType<typeof onAttemptFailed>) => (d.action === 'try' ? extPlan.steps[d.step] : undefined);
  it.each([
    [resp(486), '1003'],
    [resp(600), '1003'],
    [resp(603), '1003'],
    [{ kind: 'no-answer-timeout' } as const, '1004'],
    [resp(480), '1004'],
    [resp(408), '1004'],
    [resp(503), '1004'],
    [{ kind: 'transport-error' } as const, '1004'],
    [{ kind: 'no-targets' } as const, '1004'],
  ] as const)('%o → %s', (f, ext) => {
    const s = toExt(onAttemptFailed(extPlan, { step }, f));
    expect(s && s.kind === 'ring' ? s.extension : undefined).toBe(ext);
  });
  it('relays refusals like 488 and never forwards after a cancel', () => {
    expect(onAttemptFailed(extPlan, { step }, resp(488))).toMatchObject({ action: 'stop', stop: { status: 488 } });
    expect(onAttemptFailed(extPlan, { step }, { kind: 'caller-cancelled' })).toMatchObject({ action: 'stop', stop: { status: 487 } });
  });
  it('an unknown step stops', () => {
    expect(onAttemptFailed(extPlan, { step: 99 }, resp(500)).action).toBe('stop');
  });
});

describe('ring group segments', () => {
  const p = planRoute('200', me, t, regs);
  const seg = p.steps[0]!.segment!;
  it('moves to the next member while time remains, overflows when it is over', () => {
    expect(onAttemptFailed(p, { step: 0, now: 5_000, segmentStartedAt: { [seg]: 0 } }, { kind: 'no-answer-timeout' })).toMatchObject({
      action: 'try',
      step: 1,
    });
    const over = onAttemptFailed(p, { step: 0, now: 61_000, segmentStartedAt: { [seg]: 0 } }, resp(486));
    expect(over).toMatchObject({ action: 'try', because: 'total-timeout' });
    expect(onAttemptFailed(p, { step: 1 }, { kind: 'total-timeout' })).toMatchObject({ action: 'try', because: 'total-timeout' });
  });
  it('cuts the member timeout to the remaining total', () => {
    expect(stepTimeoutMs(p, { step: 0 })).toBe(15_000);
    expect(stepTimeoutMs(p, { step: 1, now: 50_000, segmentStartedAt: { [seg]: 0 } })).toBe(10_000);
    expect(stepTimeoutMs(p, { step: 1, now: 70_000, segmentStartedAt: { [seg]: 0 } })).toBe(0);
    expect(stepTimeoutMs(trunkPlan, { step: 0 })).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('mergeForkFailures', () => {
  it.each([
    [[resp(486), resp(480)], 486],
    [[resp(480), resp(603)], 603],
    [[resp(503), resp(480)], 480],
    [[resp(503), resp(488)], 488],
    [[resp(500), resp(503)], 500],
  ] as const)('%o → %i', (fs, status) => {
    expect(mergeForkFailures(fs)).toMatchObject({ status });
  });
  it('transport errors lose to responses; empty is no-targets', () => {
    expect(mergeForkFailures([{ kind: 'transport-error' }, resp(503)])).toMatchObject({ status: 503 });
    expect(mergeForkFailures([])).toEqual({ kind: 'no-targets' });
  });
});
