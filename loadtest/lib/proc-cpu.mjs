// CPU accounting for benchmarks, per process, from /proc (Linux): what each process of a run spent, in CPU
// seconds (user + system), read before and after a step. Comparable on a busy machine, unlike throughput.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Clock ticks per second of /proc/<pid>/stat times (sysconf(_SC_CLK_TCK)): 100 on every Linux Kumo targets. */
const HZ = 100;

function statFields(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), numbered from 3 (state).
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds (utime + stime) a live process has used so far; NaN when it is gone. */
export function processCpuSeconds(pid) {
  const f = statFields(pid);
  if (!f) return NaN;
  return (Number(f[11]) + Number(f[12])) / HZ;
}

/**
 * CPU seconds of this process's children that have exited and been waited for (cutime + cstime): how the
 * CPU of a short-lived child such as a sipp run is measured, since its /proc entry is gone when it ends.
 */
export function exitedChildrenCpuSeconds() {
  const f = statFields('self');
  return f ? (Number(f[13]) + Number(f[14])) / HZ : NaN;
}

/** Read and write system calls a live process has made so far (/proc/<pid>/io syscr + syscw); NaN when unreadable. */
export function processSyscalls(pid) {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const r = /syscr:\s+(\d+)/.exec(io);
    const w = /syscw:\s+(\d+)/.exec(io);
    return r && w ? Number(r[1]) + Number(w[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Resident set size of a live process in bytes (VmRSS); NaN when it is gone. */
export function processRssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The 1/5/15-minute load averages, two decimals. */
export function loadAverage() {
  return loadavg().map((x) => Number(x.toFixed(2)));
}

/**
 * Starts a CPU meter over named live processes (name → pid) plus, under `exitedChildrenAs`, the children
 * of this process that exit before `stop()` (e.g. sipp runs). `stop(ops)` returns, per name, the CPU seconds
 * used in between and the CPU seconds per 1,000 operations.
 */
export function startCpuMeter(pids, opts = {}) {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  const callsBefore = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processSyscalls(pid)]));
  const childBefore = exitedChildrenCpuSeconds();
  return {
    stop(ops) {
      const out = {};
      const add = (name, seconds, syscalls) => {
        out[name] = {
          cpuSeconds: round(seconds, 3),
          cpuSecondsPer1000: ops > 0 ? round((seconds / ops) * 1000, 4) : NaN,
          ...(syscalls !== undefined && Number.isFinite(syscalls) ? { syscallsPerOp: ops > 0 ? round(syscalls / ops, 1) : NaN } : {}),
        };
      };
      for (const [name, pid] of Object.entries(pids)) add(name, processCpuSeconds(pid) - before[name], processSyscalls(pid) - callsBefore[name]);
      if (opts.exitedChildrenAs) add(opts.exitedChildrenAs, exitedChildrenCpuSeconds() - childBefore);
      return out;
    },
  };
}

/** One line per process: `name 0.123 CPU-s / 1,000 ops (4.56 s)`. */
export function formatCpu(cpu, opsName = 'ops') {
  return Object.entries(cpu)
    .map(([name, c]) => `${name} ${c.cpuSecondsPer1000.toFixed(3)} CPU-s / 1,000 ${opsName} (${c.cpuSeconds.toFixed(2)} s${c.syscallsPerOp !== undefined ? `, ${c.syscallsPerOp} read/write syscalls per op` : ''})`)
    .join('; ');
}

function round(x, d) {
  const p = 10 ** d;
  return Math.round(x * p) / p;
}
