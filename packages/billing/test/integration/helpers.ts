import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildCdr, type Cdr } from '@kumo/domain';

export const WORKER_MAIN = fileURLToPath(new URL('../../dist/worker-main.js', import.meta.url));

/** A small deterministic PRNG (mulberry32) so a failing run can be replayed with its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DESTS: { dialled: string; e164?: string; direction: Cdr['direction'] }[] = [
  { dialled: '0312345678', e164: '+81312345678', direction: 'outbound' },
  { dialled: '0451234567', e164: '+81451234567', direction: 'outbound' },
  { dialled: '0612345678', e164: '+81612345678', direction: 'outbound' },
  { dialled: '09012345678', e164: '+819012345678', direction: 'outbound' },
  { dialled: '05012345678', e164: '+815012345678', direction: 'outbound' },
  { dialled: '0120123456', e164: '+81120123456', direction: 'outbound' },
  { dialled: '0101202555000', e164: '+12025550000', direction: 'outbound' },
  { dialled: '0104420794600', e164: '+442079460000', direction: 'outbound' },
  { dialled: '0103312345678', e164: '+33312345678', direction: 'outbound' },
  { dialled: '110', direction: 'emergency' },
  { dialled: '1002', direction: 'internal' },
  { dialled: '0312345678', direction: 'inbound' },
];

/** `n` varied CDRs of `tenants` tenants, all started in the hour before `now` (same JST month unless run at a month boundary). */
export function makeCdrs(n: number, o: { seed: number; tenants: number; now: number; tag: string }): Cdr[] {
  const r = rng(o.seed);
  const out: Cdr[] = [];
  for (let i = 0; i < n; i++) {
    const d = DESTS[Math.floor(r() * DESTS.length)]!;
    const startedAt = o.now - 3600_000 + Math.floor(r() * 3000_000);
    const answered = r() < 0.85;
    const secs = Math.floor(r() * 600);
    const ext = `${100 + Math.floor(r() * 20)}`;
    out.push(
      buildCdr({
        tenantId: `t${i % o.tenants}`,
        aLegCallId: `${o.tag}-${i}@test`,
        aLegFromTag: 'ft',
        direction: d.direction,
        caller: { dialled: ext, extension: ext, department: `dept${Number(ext) % 4}` },
        callee: { dialled: d.dialled, ...(d.e164 ? { e164: d.e164 } : {}) },
        trunkId: d.direction === 'outbound' ? `trunk-${i % 3}` : undefined,
        startedAt,
        ...(answered ? { answeredAt: startedAt + 3000, finalStatus: 200 } : { finalStatus: 486 }),
        endedAt: startedAt + 3000 + secs * 1000 + Math.floor(r() * 1000),
      } as Parameters<typeof buildCdr>[0]),
    );
  }
  return out;
}

export function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [WORKER_MAIN], {
    env: { PATH: process.env.PATH ?? '', KUMO_LOG_LEVEL: 'warn', KUMO_BILLING_OPS_LISTEN: '127.0.0.1:0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[worker ${child.pid}] ${d.toString()}`));
  return child;
}

export function kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
