import { describe, expect, it } from 'vitest';
import { classifyAddress, isSpecialAddress } from './addresses.js';

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['localhost', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['240.0.0.1', 'reserved'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd00::1', 'private'],
    ['192.0.2.10', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['203.0.113.5', 'documentation'],
    ['8.8.8.8', 'public'],
    ['2400:4050::1', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['sbc.carrier.example', 'hostname'],
    ['1:2:3:4:5:6:7:8:9', 'reserved'],
  ] as const)('%s → %s', (host, cls) => {
    expect(classifyAddress(host)).toBe(cls);
  });

  it('special = loopback, unspecified, broadcast, multicast, link-local, reserved', () => {
    expect(['127.0.0.1', '0.0.0.0', '::', '255.255.255.255', '224.0.0.5', 'fe80::2', '::ffff:127.0.0.1'].every(isSpecialAddress)).toBe(true);
    expect(['10.0.0.1', '192.0.2.1', '8.8.8.8', 'sbc.example.jp'].some(isSpecialAddress)).toBe(false);
  });
});
