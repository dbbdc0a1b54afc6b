import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, reservePorts, testPortRange } from '@kumo/testkit';

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
});
