import { describe, expect, it } from 'vitest';
import { admissionSample, classifyCall, isEmergencyNumber } from './classify.js';

describe('classifyCall', () => {
  const prio = new Set(['+81312345678', '9001']);
  const cases: [string, Parameters<typeof classifyCall>[0], string][] = [
    ['110 police', { dialled: '110' }, 'emergency'],
    ['118 coast guard', { dialled: '118' }, 'emergency'],
    ['119 fire/ambulance', { dialled: '119' }, 'emergency'],
    ['0110 is not emergency (outside-line prefix + digits)', { dialled: '0110' }, 'normal'],
    ['1190 is not emergency', { dialled: '1190' }, 'normal'],
    ['priority E.164 callee', { dialled: '0312345678', calleeE164: '+81312345678' }, 'priority'],
    ['priority extension calling', { dialled: '0312340000', callerExtension: '9001' }, 'priority'],
    ['inbound from a priority number', { dialled: '201', callerE164: '+81312345678' }, 'priority'],
    ['call to a priority extension', { dialled: '9001', calleeExtension: '9001' }, 'priority'],
    ['emergency wins over priority', { dialled: '119', callerExtension: '9001' }, 'emergency'],
    ['ordinary call', { dialled: '0312340000', calleeE164: '+81312340000', callerExtension: '201' }, 'normal'],
  ];
  it.each(cases)('%s', (_n, facts, want) => expect(classifyCall(facts, prio)).toBe(want));
  it('isEmergencyNumber trims', () => expect(isEmergencyNumber(' 119 ')).toBe(true));
});

describe('admissionSample', () => {
  it('is deterministic and in [0, 1)', () => {
    expect(admissionSample('abc@host')).toBe(admissionSample('abc@host'));
    for (let i = 0; i < 200; i++) {
      const s = admissionSample(`call-${i}`);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(1);
    }
  });
  it.each([
    ['spread ids', (i: number) => `${i}-${i * 7919}@pbx.example`],
    ['sequential ids', (i: number) => `call-${i}`],
    ['uuid-like ids', (i: number) => `a84b4c76-e661-${String(i).padStart(4, '0')}@192.0.2.1`],
  ])('is spread evenly enough for 50%% / 10%% restriction (%s)', (_n, id) => {
    const n = 10_000;
    let below50 = 0;
    let below10 = 0;
    for (let i = 0; i < n; i++) {
      const s = admissionSample(id(i));
      if (s < 0.5) below50++;
      if (s < 0.1) below10++;
    }
    expect(below50 / n).toBeGreaterThan(0.47);
    expect(below50 / n).toBeLessThan(0.53);
    expect(below10 / n).toBeGreaterThan(0.08);
    expect(below10 / n).toBeLessThan(0.12);
  });
});
