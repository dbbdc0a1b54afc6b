import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NUMBERING_PLAN,
  canonicalMac,
  didTargetOk,
  emergencyTrunk,
  isIpLiteral,
  normalizeE164,
  numberConflict,
  numberProblem,
  validateDid,
  validateExtension,
  validateExtensionPatch,
  validateNumberingPlan,
  validatePickupGroup,
  validateRestrictionLevel,
  validateRingGroup,
  validateTenantCreate,
  validateTenantPatch,
  maxCallMsFor,
  validateTrunk,
  type ExtensionInput,
  type NumberingPlan,
  type RingGroupInput,
  type TenantCreateInput,
  type TrunkInput,
  type Validation,
} from '../index.js';

function fields<T>(v: Validation<T>): string[] {
  return v.ok ? [] : v.problems.map((p) => p.field);
}

const tenant: TenantCreateInput = {
  id: 'acme',
  name: 'ACME 株式会社',
  sipDomain: 'Acme.Kumo.Test',
  ports: 100,
  trunkChannels: 10,
  callsPerSecond: 5,
};

describe('validateTenantCreate', () => {
  it('normalises and applies defaults', () => {
    const r = validateTenantCreate(tenant);
    expect(r).toEqual({
      ok: true,
      value: { ...tenant, sipDomain: 'acme.kumo.test', status: 'active', restrictionLevel: 0, notes: '' },
    });
  });

  it.each([
    [{ ports: 99 }, ['ports']],
    [{ ports: 100 }, []],
    [{ ports: 20000 }, []],
    [{ ports: 20001 }, ['ports']],
    [{ ports: 150.5 }, ['ports']],
    [{ trunkChannels: -1 }, ['trunkChannels']],
    [{ trunkChannels: 0 }, []],
    [{ callsPerSecond: 0 }, ['callsPerSecond']],
    [{ callsPerSecond: 1001 }, ['callsPerSecond']],
    [{ id: 'A' }, ['id']],
    [{ id: 'a' }, ['id']],
    [{ id: 'ab' }, []],
    [{ id: 'a{b}' }, ['id']],
    [{ id: '-ab' }, ['id']],
    [{ id: 'x'.repeat(33) }, ['id']],
    [{ name: '  ' }, ['name']],
    [{ name: 'a\nb' }, ['name']],
    [{ sipDomain: 'localhost' }, ['sipDomain']],
    [{ sipDomain: 'bad_domain.test' }, ['sipDomain']],
    [{ sipDomain: 'pbx.example.jp' }, []],
    [{ status: 'terminated' as const }, ['status']],
    [{ status: 'suspended' as const }, []],
    [{ restrictionLevel: 4 }, ['restrictionLevel']],
    [{ restrictionLevel: 3 }, []],
    [{ notes: 'x'.repeat(2001) }, ['notes']],
    [{ maxCallSeconds: 59 }, ['maxCallSeconds']],
    [{ maxCallSeconds: 60 }, []],
    [{ maxCallSeconds: 604800 }, []],
    [{ maxCallSeconds: 604801 }, ['maxCallSeconds']],
    [{ maxCallSeconds: 90.5 }, ['maxCallSeconds']],
    [{ ports: 1, callsPerSecond: 0, id: '' }, ['id', 'ports', 'callsPerSecond']],
  ])('%o → problems %o', (patch, expected) => {
    expect(fields(validateTenantCreate({ ...tenant, ...patch }))).toEqual(expected);
  });
});

describe('validateTenantPatch', () => {
  it.each([
    [{}, []],
    [{ ports: 5000 }, []],
    [{ ports: 50 }, ['ports']],
    [{ name: '' }, ['name']],
    [{ restrictionLevel: -1 }, ['restrictionLevel']],
    [{ callsPerSecond: 10, trunkChannels: 20001 }, ['trunkChannels']],
    [{ maxCallSeconds: 0 }, []],
    [{ maxCallSeconds: 3600 }, []],
    [{ maxCallSeconds: 30 }, ['maxCallSeconds']],
  ])('%o → %o', (patch, expected) => {
    expect(fields(validateTenantPatch(patch))).toEqual(expected);
  });

  it.each([
    [{}, 14_400_000, 14_400_000],
    [{ maxCallSeconds: 600 }, 14_400_000, 600_000],
    [{ maxCallSeconds: 600 }, undefined, 600_000],
    [{}, undefined, undefined],
  ])('maxCallMsFor(%o, platform %o) = %o: the tenant\'s maximum call duration wins over the platform\'s', (t, platform, expected) => {
    expect(maxCallMsFor(t, platform)).toBe(expected);
  });

  it('keeps only the given fields', () => {
    expect(validateTenantPatch({ notes: ' hi ' })).toEqual({ ok: true, value: { notes: 'hi' } });
  });

  it.each([
    [0, true],
    [3, true],
    [4, false],
    [1.5, false],
  ])('restriction level %d ok=%s', (l, ok) => {
    expect(validateRestrictionLevel(l).ok).toBe(ok);
  });
});

describe('numberProblem / numberConflict', () => {
  const plan = DEFAULT_NUMBERING_PLAN;
  it.each([
    ['1001', 'extension', undefined],
    ['100', 'extension', 'must have 4 digits (numbering plan)'],
    ['10011', 'extension', 'must have 4 digits (numbering plan)'],
    ['12a4', 'extension', 'must be digits only'],
    ['500', 'ringGroup', undefined],
    ['5', 'ringGroup', 'must have 2–8 digits'],
    ['123456789', 'ringGroup', 'must have 2–8 digits'],
  ] as const)('format: %s as %s → %s', (n, kind, expected) => {
    expect(numberProblem(n, plan, kind)).toBe(expected);
  });

  it.each([
    ['1001', undefined],
    ['110', 'is an emergency number (110, 118, 119)'],
    ['118', 'is an emergency number (110, 118, 119)'],
    ['119', 'is an emergency number (110, 118, 119)'],
    ['0123', 'starts with the outside-line prefix 0'],
    ['050', 'starts with the outside-line prefix 0'],
    ['1190', undefined],
  ] as const)('conflict: %s → %s', (n, expected) => {
    expect(numberConflict(n, plan)).toBe(expected);
  });

  it('digit feature codes and other prefixes collide', () => {
    const p: NumberingPlan = { extensionLength: 3, outsideLinePrefix: '9', featureCodes: { pickup: '555', directedPickup: '77' } };
    expect(numberConflict('555', p)).toMatch(/feature code pickup/);
    expect(numberConflict('771', p)).toMatch(/feature code directedPickup/);
    expect(numberConflict('119', p)).toMatch(/emergency/);
    expect(numberConflict('901', p)).toMatch(/outside-line prefix 9/);
    expect(numberConflict('012', p)).toBeUndefined();
    expect(numberProblem('012', p, 'extension')).toBeUndefined();
  });
});

const ext: ExtensionInput = { number: '1001', displayName: '山田 太郎', password: 'pass1001' };

describe('validateExtension', () => {
  it('applies defaults', () => {
    const r = validateExtension(ext);
    expect(r.ok && r.value).toEqual({
      number: '1001',
      displayName: '山田 太郎',
      password: 'pass1001',
      permissionClass: 'national',
      callerIdPresentation: 'allowed',
      device: {},
      department: '',
      noAnswerTimeoutSec: 30,
      forwarding: {},
    });
  });

  it.each([
    [{ number: '101' }, ['number']],
    [{ number: '0101' }, []],
    [{ displayName: '' }, ['displayName']],
    [{ password: 'short' }, ['password']],
    [{ password: 'has space!' }, ['password']],
    [{ password: 'x'.repeat(65) }, ['password']],
    [{ password: 'パスワード12345' }, ['password']],
    [{ permissionClass: 'galactic' as never }, ['permissionClass']],
    [{ permissionClass: 'international' as const }, []],
    [{ callerIdPresentation: 'restricted' as const }, []],
    [{ callerIdPresentation: 'maybe' as never }, ['callerIdPresentation']],
    [{ outboundCallerId: '0312345678' }, []],
    [{ outboundCallerId: '12345' }, ['outboundCallerId']],
    [{ device: { mac: '00-11-22-AA-BB-CC', model: 'KX-HDV130', location: '3F' } }, []],
    [{ device: { mac: '00:11:22:aa:bb' } }, ['device/mac']],
    [{ noAnswerTimeoutSec: 4 }, ['noAnswerTimeoutSec']],
    [{ noAnswerTimeoutSec: 300 }, []],
    [{ forwarding: { unconditional: '1002', busy: '00312345678', noAnswer: '500' } }, []],
    [{ forwarding: { busy: '119' } }, ['forwarding/busy']],
    [{ forwarding: { noAnswer: 'sip:x@y' } }, ['forwarding/noAnswer']],
    [{ department: 'x'.repeat(101) }, ['department']],
  ])('%o → %o', (patch, expected) => {
    expect(fields(validateExtension({ ...ext, ...patch }))).toEqual(expected);
  });

  it('canonicalises MAC and outbound caller id', () => {
    const r = validateExtension({ ...ext, device: { mac: '001122AABBCC' }, outboundCallerId: '03-1234-5678' });
    expect(r.ok && r.value.device.mac).toBe('00:11:22:aa:bb:cc');
    expect(r.ok && r.value.outboundCallerId).toBe('+81312345678');
    expect(canonicalMac('00-11-22-AA-BB-CC')).toBe('00:11:22:aa:bb:cc');
  });

  it.each([
    [{}, []],
    [{ password: 'newpassword' }, []],
    [{ password: 'x' }, ['password']],
    [{ displayName: ' ' }, ['displayName']],
    [{ noAnswerTimeoutSec: 1000 }, ['noAnswerTimeoutSec']],
  ])('patch %o → %o', (patch, expected) => {
    expect(fields(validateExtensionPatch(patch))).toEqual(expected);
  });
});

const rg: RingGroupInput = { number: '500', name: 'Sales', strategy: 'ring-all', members: [{ extension: '1001' }, { extension: '1002', timeoutSec: 15 }] };

describe('validateRingGroup', () => {
  it('applies defaults and keeps order', () => {
    const r = validateRingGroup(rg);
    expect(r.ok && r.value).toEqual({
      number: '500',
      name: 'Sales',
      strategy: 'ring-all',
      members: [
        { extension: '1001', timeoutSec: 20 },
        { extension: '1002', timeoutSec: 15 },
      ],
      totalTimeoutSec: 60,
    });
  });

  it.each([
    [{ strategy: 'random' as never }, ['strategy']],
    [{ strategy: 'longest-idle' as const }, []],
    [{ members: [] }, ['members']],
    [{ members: [{ extension: '1001' }, { extension: '1001' }] }, ['members/1/extension']],
    [{ members: [{ extension: '500' }] }, ['members/0/extension']],
    [{ members: [{ extension: 'abc' }] }, ['members/0/extension']],
    [{ members: [{ extension: '1001', timeoutSec: 1 }] }, ['members/0/timeoutSec']],
    [{ totalTimeoutSec: 4 }, ['totalTimeoutSec']],
    [{ overflow: '500' }, ['overflow']],
    [{ overflow: '1003' }, []],
    [{ number: '5' }, ['number']],
    [{ members: Array.from({ length: 101 }, (_, i) => ({ extension: String(2000 + i) })) }, ['members']],
  ])('%o → %o', (patch, expected) => {
    expect(fields(validateRingGroup({ ...rg, ...patch }))).toEqual(expected);
  });
});

describe('validatePickupGroup', () => {
  it.each([
    [{ id: 'floor3', name: '3F', members: ['1001', '1002'] }, []],
    [{ id: 'Floor 3', name: '3F', members: [] }, ['id']],
    [{ id: 'f', name: '', members: [] }, ['name']],
    [{ id: 'f', name: 'x', members: ['1001', '1001'] }, ['members/1']],
    [{ id: 'f', name: 'x', members: ['*8'] }, ['members/0']],
  ])('%o → %o', (input, expected) => {
    expect(fields(validatePickupGroup(input))).toEqual(expected);
  });
});

const trunk: TrunkInput = { id: 'ntt', name: 'NTT', gateways: [{ host: '192.0.2.10' }], channelLimit: 10 };

describe('validateTrunk', () => {
  it('applies defaults and sorts gateways by priority', () => {
    const r = validateTrunk({
      ...trunk,
      gateways: [
        { host: 'sbc2.example.jp', transport: 'tls', priority: 20 },
        { host: '192.0.2.10', priority: 5 },
      ],
      callerId: '0312345678',
    });
    expect(r.ok && r.value).toEqual({
      id: 'ntt',
      name: 'NTT',
      gateways: [
        { host: '192.0.2.10', port: 5060, transport: 'udp', priority: 5 },
        { host: 'sbc2.example.jp', port: 5061, transport: 'tls', priority: 20 },
      ],
      channelLimit: 10,
      numberFormat: 'national',
      callerId: '+81312345678',
      roles: ['ordinary'],
      emergency: false,
      callerName: 'none',
    });
  });

  it.each([
    [{}, ['ordinary']],
    [{ emergency: true }, ['ordinary', 'emergency']],
    [{ roles: ['emergency'] as const }, ['emergency']],
    [{ roles: ['emergency', 'ordinary'] as const }, ['ordinary', 'emergency']],
  ])('roles %o → %o', (patch, roles) => {
    const r = validateTrunk({ ...trunk, ...patch });
    expect(r.ok && r.value.roles).toEqual(roles);
    expect(r.ok && r.value.emergency).toBe(roles.includes('emergency'));
  });

  it.each([
    [{ gateways: [] }, ['gateways']],
    [{ gateways: [{ host: 'bad host' }] }, ['gateways/0/host']],
    [{ gateways: [{ host: '2001:db8::1', port: 5070 }] }, []],
    [{ gateways: [{ host: '192.0.2.1', port: 70000 }] }, ['gateways/0/port']],
    [{ gateways: [{ host: '192.0.2.1', transport: 'sctp' as never }] }, ['gateways/0/transport']],
    [{ gateways: [{ host: '192.0.2.1' }, { host: '192.0.2.1', port: 5060 }] }, ['gateways/1']],
    [{ channelLimit: 0 }, ['channelLimit']],
    [{ channelLimit: 11 }, ['channelLimit']],
    [{ numberFormat: 'e164' as const }, []],
    [{ numberFormat: 'weird' as never }, ['numberFormat']],
    [{ callerId: '999' }, ['callerId']],
    [{ registration: { username: 'u', password: 'p' } }, []],
    [{ registration: { username: '', password: '' } }, ['registration/username', 'registration/password']],
    [{ registration: { username: 'u', password: 'p', expiresSec: 10 } }, ['registration/expiresSec']],
    [{ gateways: [{ host: ' 1001' }] }, ['gateways/0/host']],
    [{ gateways: [{ host: '1001' }] }, ['gateways/0/host']],
    [{ gateways: [{ host: 'localhost', port: 5070 }] }, ['gateways/0/host']],
    [{ gateways: [{ host: '127.0.0.2', port: 5070 }] }, []],
    [{ callerName: 'extension' as const }, []],
    [{ callerName: 'fixed' as const }, ['callerNameFixed']],
    [{ callerName: 'fixed' as const, callerNameFixed: 'ACME 株式会社' }, []],
    [{ callerNameFixed: 'ACME' }, ['callerNameFixed']],
    [{ callerName: 'loud' as never }, ['callerName']],
    [{ roles: [] }, ['roles']],
    [{ roles: ['ordinary', 'ordinary'] as never }, ['roles']],
    [{ roles: ['backup'] as never }, ['roles/0']],
    [{ roles: ['ordinary'] as const, emergency: true }, ['emergency']],
  ])('%o → %o', (patch, expected) => {
    expect(fields(validateTrunk({ ...trunk, ...patch }, { trunkChannels: 10 }))).toEqual(expected);
  });

  it('emergencyTrunk prefers the flagged one', () => {
    expect(emergencyTrunk([{ id: 'a', emergency: false }, { id: 'b', emergency: true }])?.id).toBe('b');
    expect(emergencyTrunk([{ id: 'a', emergency: false }])?.id).toBe('a');
    expect(emergencyTrunk([])).toBeUndefined();
  });

  it.each([
    ['192.0.2.1', true],
    ['256.0.0.1', false],
    ['2001:db8::1', true],
    ['::1', true],
    ['example.jp', false],
  ])('isIpLiteral(%s) = %s', (s, ok) => {
    expect(isIpLiteral(s)).toBe(ok);
  });
});

describe('DIDs and E.164', () => {
  it.each([
    ['+81312345678', '+81312345678'],
    ['0312345678', '+81312345678'],
    ['03-1234-5678', '+81312345678'],
    ['(03) 1234 5678', '+81312345678'],
    ['05012345678', '+815012345678'],
    ['0120123456', '+81120123456'],
    ['0104155550100', '+4155550100'],
    ['0101415555010', '+1415555010'],
    ['81312345678', undefined],
    ['1001', undefined],
    ['+0123', undefined],
    ['', undefined],
  ])('normalizeE164(%s) = %s', (input, expected) => {
    expect(normalizeE164(input)).toBe(expected);
  });

  it.each([
    [{ number: '0312345678', target: { type: 'extension' as const, number: '1001' } }, []],
    [{ number: '1001', target: { type: 'extension' as const, number: '1001' } }, ['number']],
    [{ number: '+81312345678', target: { type: 'fax' as never, number: '1001' } }, ['target/type']],
    [{ number: '+81312345678', target: { type: 'ringGroup' as const, number: '*8' } }, ['target/number']],
  ])('%o → %o', (input, expected) => {
    expect(fields(validateDid(input))).toEqual(expected);
  });

  it('normalises the DID', () => {
    const r = validateDid({ number: '03-1234-5678', target: { type: 'ringGroup', number: '500' }, description: ' 代表 ' });
    expect(r.ok && r.value).toEqual({ number: '+81312345678', target: { type: 'ringGroup', number: '500' }, description: '代表' });
    expect(didTargetOk('ringGroup', 'ringGroup')).toBe(true);
    expect(didTargetOk('extension', 'ringGroup')).toBe(false);
  });
});

describe('validateNumberingPlan', () => {
  it('merges with defaults', () => {
    expect(validateNumberingPlan({})).toEqual({ ok: true, value: DEFAULT_NUMBERING_PLAN });
    const r = validateNumberingPlan({ extensionLength: 3, featureCodes: { pickup: '#8' } });
    expect(r.ok && r.value).toEqual({ extensionLength: 3, outsideLinePrefix: '0', featureCodes: { pickup: '#8', directedPickup: '**' } });
  });

  it.each([
    [{ extensionLength: 1 }, ['extensionLength']],
    [{ extensionLength: 9 }, ['extensionLength']],
    [{ outsideLinePrefix: '' }, []],
    [{ outsideLinePrefix: '9' }, []],
    [{ outsideLinePrefix: '90' }, ['outsideLinePrefix']],
    [{ featureCodes: { pickup: '119' } }, ['featureCodes/pickup']],
    [{ featureCodes: { pickup: '0' } }, ['featureCodes/pickup']],
    [{ featureCodes: { pickup: '**' } }, ['featureCodes/directedPickup']],
    [{ featureCodes: { pickup: '**8' } }, ['featureCodes/pickup']],
    [{ featureCodes: { pickup: 'abc' } }, ['featureCodes/pickup']],
  ])('%o → %o', (input, expected) => {
    expect(fields(validateNumberingPlan(input))).toEqual(expected);
  });
});

describe('digest policy of tenants and extensions', () => {
  const tenant = { id: 'acme', name: 'Acme', sipDomain: 'acme.example.jp', ports: 100, trunkChannels: 1, callsPerSecond: 10 };
  it('accepts the three policies, refuses anything else, leaves it unset by default', () => {
    for (const p of ['sha-256,md5', 'sha-256', 'md5'] as const) {
      expect(validateTenantCreate({ ...tenant, digestAlgorithms: p })).toMatchObject({ ok: true, value: { digestAlgorithms: p } });
      expect(validateExtension({ number: '1001', displayName: 'A', password: 'pass1001x', digestAlgorithms: p })).toMatchObject({ ok: true, value: { digestAlgorithms: p } });
    }
    expect(validateTenantCreate(tenant)).toMatchObject({ ok: true });
    expect('digestAlgorithms' in (validateTenantCreate(tenant) as { value: object }).value).toBe(false);
    expect(validateTenantCreate({ ...tenant, digestAlgorithms: 'sha-512' as never }).ok).toBe(false);
    expect(validateExtensionPatch({ digestAlgorithms: 'MD5' as never }).ok).toBe(false);
  });
  it("'' in a PATCH goes back to the inherited policy", () => {
    expect(validateTenantPatch({ digestAlgorithms: '' })).toEqual({ ok: true, value: { digestAlgorithms: '' } });
    expect(validateExtensionPatch({ digestAlgorithms: '' })).toEqual({ ok: true, value: { digestAlgorithms: '' } });
  });
});
