import { describe, expect, it } from 'vitest';
import { carrierRegistrar, gatewayUas, lintScenario, optionsPing, register, scenarioElements, uacCall, uasAnswer, uasInDialog, uasRingCancel, uasTransferor } from '@kumo/testkit';

const base = { user: '1001', domain: 'acme.kumo.test', password: 'secret' } as const;

describe('the shared sipp scenario builders', () => {
  it.each([
    ['answered call', uacCall({ ...base, expect: 200 })],
    ['refused call with checks', uacCall({ ...base, expect: 503, check: [['Retry-After', '[0-9]+']] })],
    ['no digest', uacCall({ user: '1001', domain: 'd', expect: 404 })],
    ['cancelled call', uacCall({ ...base, expect: 487, cancelAfterMs: 200 })],
    ['wait for the BYE', uacCall({ ...base, expect: 200, mode: 'wait-bye' })],
    ['BYE or wait', uacCall({ ...base, expect: 200, mode: 'bye-or-wait', holdMs: 500 })],
    ['in-dialog requests', uacCall({ ...base, expect: 200, mode: 'in-dialog' })],
    ['transferred', uacCall({ ...base, expect: 200, mode: 'transferred', transferredPai: 'sip:1003@', ring: 'required' })],
    ['joined by a re-INVITE', uacCall({ ...base, expect: 200, mode: 'joined' })],
    ['hold then hang up', uacCall({ ...base, expect: 200, mode: 'hold', holdMs: 500 })],
    ['answered or refused under overload', uacCall({ ...base, expect: 200, holdMs: 0, refusals: [503, 403] })],
    ['answering phone joined by a re-INVITE', uasAnswer(200, { reinvite: true })],
    ['attended transferor', uasTransferor({ target: '1004', domain: 'd', replaces: 'c1;to-tag=a;from-tag=b' })],
    ['answering phone', uasAnswer(200, { ringMs: 100, fromMatches: 'sip:1001@' })],
    ['early media', uasAnswer(200, { ring: 'early' })],
    ['refusing phone', uasAnswer(486)],
    ['ringing until cancelled', uasRingCancel({ reason: 'elsewhere' })],
    ['transferor', uasTransferor({ target: '1003', domain: 'd' })],
    ['in-dialog phone', uasInDialog()],
    ['register', register(base)],
    ['OPTIONS ping', optionsPing({ user: 'ping', domain: '127.0.0.2' })],
    ['gateway', gatewayUas()],
    ['carrier registrar', carrierRegistrar({ username: 'u', realm: 'r', expiresSec: 60 })],
  ])('%s: well formed and RFC-correct', (_name, xml) => {
    expect(scenarioElements(xml).length).toBeGreaterThan(1);
    expect(lintScenario(xml)).toEqual([]);
  });
});
