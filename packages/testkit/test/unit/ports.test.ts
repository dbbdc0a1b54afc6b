import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, reservePorts, testPortRange } from '@kumo/testkit';
import { blockBase } from '../../src/ports.js';

const lockOf = (p: number): string => join(tmpdir(), 'kumo-test-ports', String(p));

describe('test ports', () => {
  it('come from below the kernel’s ephemeral range, where outgoing connections never take them', async () => {
    const { lo, hi } = testPortRange();
    expect(hi).toBeLessThanOrEqual(32768);
    for (let i = 0; i < 20; i++) {
      const p = await freePort();
      expect(p).toBeGreaterThanOrEqual(lo);
      expect(p).toBeLessThan(hi);
      expect(readFileSync(lockOf(p), 'utf8')).toBe(String(process.pid));
    }
  });

  it.each([
    [1, 'a single port'],
    [4, 'a block of four'],
  ])('cover the whole range, its top port included (%s)', (count) => {
    const [lo, hi] = [20000, 20010];
    const bases = Array.from({ length: 40 }, (_, c) => blockBase(lo, hi, count, c));
    expect(Math.min(...bases)).toBe(lo);
    expect(Math.max(...bases) + count - 1).toBe(hi - 1);
  });

  it('are never handed out twice within a process', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) seen.add(await freePort());
    const block = reservePorts(4);
    for (let k = 0; k < 4; k++) seen.add(block + k);
    expect(seen.size).toBe(54);
  });

  it('held by another live process are skipped; those of dead processes are taken over', async () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    const dead = spawn('true', [], { stdio: 'ignore' });
    await new Promise((r) => dead.once('exit', r));
    try {
      // The next ports this process would try are claimed by the live process, then by the dead one.
      const probe = reservePorts(1);
      const next = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i).filter((p) => p < testPortRange().hi && !existsSync(lockOf(p)));
      const live = next(probe + 1, 20);
      const stale = next(probe + 21, 5);
      for (const p of live) writeFileSync(lockOf(p), String(other.pid));
      for (const p of stale) writeFileSync(lockOf(p), String(dead.pid));
      // Other test files release ports concurrently, and the allocator may hand those out first: reserve until every
      // stale port came back (bounded), rather than assuming the next ten reservations are exactly these.
      const got: number[] = [];
      while (got.length < 200 && stale.some((p) => !got.includes(p))) got.push(reservePorts(1));
      for (const p of live) expect(got).not.toContain(p);
      for (const p of stale) {
        expect(got).toContain(p);
        expect(readFileSync(lockOf(p), 'utf8')).toBe(String(process.pid));
      }
    } finally {
      other.kill();
    }
  });

  it('bound by a process the locks do not know (an orphaned sipp, a stale lock) are skipped', async () => {
    const dead = spawn('true', [], { stdio: 'ignore' });
    await new Promise((r) => dead.once('exit', r));
    const probe = reservePorts(1);
    const { lo, hi } = testPortRange();
    // the ports the allocator tries next, in its order (it wraps around its range), not held by a live process
    const liveOwner = (p: number): boolean => {
      if (!existsSync(lockOf(p))) return false;
      try {
        process.kill(Number(readFileSync(lockOf(p), 'utf8')), 0);
        return true;
      } catch {
        return false;
      }
    };
    const targets = Array.from({ length: 8 }, (_, i) => lo + ((probe - lo + 1 + i) % (hi - lo))).filter((p) => !liveOwner(p));
    // each target has a stale lock (its owner is dead) but a live socket bound to it
    const sockets = await Promise.all(
      targets.map(
        (p) =>
          new Promise<ReturnType<typeof createSocket> | null>((resolve) => {
            const s = createSocket('udp4');
            s.once('error', () => resolve(null));
            s.bind(p, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    const bound = targets.filter((_, i) => sockets[i] !== null);
    for (const p of bound) writeFileSync(lockOf(p), String(dead.pid));
    try {
      const got: number[] = [];
      for (let i = 0; i < 20; i++) got.push(reservePorts(1));
      expect(bound.length).toBeGreaterThan(0);
      for (const p of bound) expect(got).not.toContain(p);
    } finally {
      for (const s of sockets) s?.close();
    }
  });
});
