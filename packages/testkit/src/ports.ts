import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Race-free test ports.
 *
 * A port handed out by `listen(0)` lies in the kernel's ephemeral range
 * (`/proc/sys/net/ipv4/ip_local_port_range`, 32768–60999 by default), the range the kernel also
 * picks from for every outgoing connection. Between the moment a test learnt "port P is free"
 * and the moment sipp or the engine bound it, a Redis client or an engine control connection
 * anywhere on the machine could take P as its local port, and a TCP `listen()` on P then fails
 * with `EADDRINUSE` (sipp: `Unable to listen main socket, errno = 98`).
 *
 * So test ports come from below the ephemeral range, where the kernel never assigns ports on its
 * own, and every port is reserved machine-wide with a lock file (`O_EXCL`) naming the owning
 * process, so concurrent test files, test runs in other checkouts and benchmarks never get the
 * same port. Locks of dead processes (or older than a day) are taken over; a process removes its
 * own locks when it exits.
 */

const LOCK_DIR = join(tmpdir(), 'kumo-test-ports');
/** First port of the test range (well above the 5060 area sipp and SIP servers default to). */
const RANGE_LO = 20000;
const STALE_MS = 24 * 3600_000;

let rangeHi: number | undefined;
/** One past the last usable port: the start of the kernel's ephemeral range. */
export function testPortRange(): { readonly lo: number; readonly hi: number } {
  if (rangeHi === undefined) {
    let lo = 32768;
    try {
      const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
      if (Number.isInteger(first) && first > RANGE_LO + 1000) lo = first;
    } catch {
      // not Linux: keep the IANA dynamic range start
    }
    rangeHi = lo;
  }
  return { lo: RANGE_LO, hi: rangeHi };
}

const mine = new Set<number>();
let cursor: number | undefined;
let exitHook = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock file of `port` for this process; false when a live process holds it. */
function lock(port: number): boolean {
  const path = join(LOCK_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let stale = false;
      try {
        const owner = Number(readFileSync(path, 'utf8'));
        stale = !Number.isInteger(owner) || owner <= 0 || (owner !== process.pid && !alive(owner)) || Date.now() - statSync(path).mtimeMs > STALE_MS;
      } catch {
        stale = false; // vanished or half-written: try the next port
      }
      if (!stale) return false;
      try {
        unlinkSync(path);
      } catch {
        // someone else took it over first
      }
    }
  }
  return false;
}

function releaseAll(): void {
  for (const p of mine) {
    try {
      unlinkSync(join(LOCK_DIR, String(p)));
    } catch {
      // already gone
    }
  }
  mine.clear();
}

/**
 * Local ports bound right now by any process (Linux: /proc/net/{tcp,udp}{,6}, read synchronously);
 * empty where /proc is not there. Catches what lock files cannot: a process outside the test kit,
 * or a child (sipp) that outlived the test process which reserved its ports.
 */
function boundPorts(): Set<number> {
  const out = new Set<number>();
  for (const f of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${f}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // "  sl  local_address rem_address ...": local_address is HEXIP:HEXPORT
      const local = line.trim().split(/\s+/)[1];
      const colon = local?.lastIndexOf(':') ?? -1;
      if (local && colon > 0) out.add(parseInt(local.slice(colon + 1), 16));
    }
  }
  return out;
}

/** How many blocks of `count` ports start in [lo, hi): lo … hi - count, so the last one ends on hi - 1. */
export function blockStarts(lo: number, hi: number, count: number): number {
  return hi - lo - count + 1;
}

/** The first port of the block the allocator's `cursor` points at (it wraps around the range). */
export function blockBase(lo: number, hi: number, count: number, cursor: number): number {
  return lo + (cursor % blockStarts(lo, hi, count));
}

/**
 * Reserves `count` consecutive ports (machine-wide, for the life of this process) that no socket
 * is bound to right now (`boundPorts`); `freePort` also binds them once to be sure. Synchronous, for launchers that
 * must spawn at once (sipp's `-p` and `-mp`).
 */
export function reservePorts(count = 1): number {
  const { lo, hi } = testPortRange();
  const span = blockStarts(lo, hi, count);
  mkdirSync(LOCK_DIR, { recursive: true });
  if (!exitHook) {
    exitHook = true;
    process.once('exit', releaseAll);
  }
  // Start at a random place so concurrent processes rarely even contend for a lock file.
  cursor ??= Math.floor(Math.random() * span);
  const bound = boundPorts();
  for (let tried = 0; tried < span; tried += count) {
    const base = blockBase(lo, hi, count, cursor);
    cursor += count;
    const got: number[] = [];
    for (let i = 0; i < count; i++) {
      if (mine.has(base + i) || bound.has(base + i) || !lock(base + i)) break;
      got.push(base + i);
      mine.add(base + i);
    }
    if (got.length === count) return base;
    for (const p of got) {
      mine.delete(p);
      try {
        unlinkSync(join(LOCK_DIR, String(p)));
      } catch {
        // already gone
      }
    }
  }
  throw new Error(`no free test port block of ${count} in ${lo}-${hi - 1}`);
}

function bindable(port: number, host: string): Promise<boolean> {
  const tcp = new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
  const udp = new Promise<boolean>((resolve) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', () => resolve(false));
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
  return Promise.all([tcp, udp]).then(([a, b]) => a && b);
}

/**
 * A port reserved for this process (see above) that is free for TCP and UDP on `host`: nobody
 * else using the test kit gets it, and the kernel does not hand it to outgoing connections.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = reservePorts(1);
    if (await bindable(port, host)) return port;
  }
  throw new Error('no free port found');
}

/**
 * Waits until something on this machine listens on `port` (TCP, state LISTEN) or has it bound (UDP), read from
 * /proc/net without connecting to it: a freshly spawned sipp UAS takes a moment to open its socket, and a call
 * routed to it before then fails as unreachable. Throws after `ms`.
 */
export async function waitPortBound(port: number, transport: 'udp' | 'tcp', ms = 10_000): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const files = transport === 'tcp' ? ['/proc/net/tcp', '/proc/net/tcp6'] : ['/proc/net/udp', '/proc/net/udp6'];
  const bound = (): boolean =>
    files.some((f) => {
      let text = '';
      try {
        text = readFileSync(f, 'utf8');
      } catch {
        return false;
      }
      return text.split('\n').some((line) => {
        const cols = line.trim().split(/\s+/);
        return (cols[1] ?? '').endsWith(hex) && (transport === 'udp' || cols[3] === '0A');
      });
    });
  const end = Date.now() + ms;
  while (!bound()) {
    if (Date.now() > end) throw new Error(`nothing bound to ${transport} port ${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
