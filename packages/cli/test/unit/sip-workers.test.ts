import { describe, expect, it } from 'vitest';
import { sipWorkerCount, sipWorkerEnvs } from '../../src/up.js';

describe('sip workers under kumo up', () => {
  it.each([
    [0, 2, 2],
    [0, 1, 1],
    [0, 64, 8],
    [3, 2, 3],
  ])('KUMO_SIP_WORKERS=%i on %i cores runs %i', (configured, cores, n) => {
    expect(sipWorkerCount(configured, cores)).toBe(n);
  });

  it('one worker keeps the ops address and the environment as they are', () => {
    const env = { KUMO_X: '1' };
    expect(sipWorkerEnvs(env, '127.0.0.1:9092', 1)).toEqual([{ name: 'sip', ops: '127.0.0.1:9092', env }]);
  });

  it("with the defaults, the second worker skips billing's 9093 and kumo branch's 9094", () => {
    const ws = sipWorkerEnvs({}, '127.0.0.1:9092', 3, new Set([9091, 9093, 9094, 8080, 9022]));
    expect(ws.map((w) => w.ops)).toEqual(['127.0.0.1:9092', '127.0.0.1:9095', '127.0.0.1:9096']);
    expect(ws.map((w) => w.name)).toEqual(['sip-1', 'sip-2', 'sip-3']);
    for (const w of ws) expect(w.env).toMatchObject({ KUMO_SIP_OPS_LISTEN: w.ops, KUMO_SIP_DRAIN_HANDOFF: 'true' });
  });

  it('port 0 stays 0 (any free port) and an operator-set hand-off is kept', () => {
    const ws = sipWorkerEnvs({ KUMO_SIP_DRAIN_HANDOFF: 'false' }, '127.0.0.1:0', 2, new Set([1, 2]));
    expect(ws.map((w) => w.ops)).toEqual(['127.0.0.1:0', '127.0.0.1:0']);
    expect(ws[1]?.env['KUMO_SIP_DRAIN_HANDOFF']).toBe('false');
  });
});
