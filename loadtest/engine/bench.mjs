#!/usr/bin/env node
/**
 * Engine benchmark: sipp uac → Kumo engine (own process) → drachtio-srf B2BUA app (own process) → sipp uas,
 * all on loopback. Finds the highest call rate with 0 failed calls and 0 retransmissions over CALLS calls per
 * step (after a warm-up), then runs sipp uac → sipp uas directly at that rate as the baseline and prints the ratio.
 * Each step prints the engine's and the apps' CPU-seconds per 1,000 calls and the load average, and a CPU budget line:
 * CPU-ms per call of the engine (user/system), the apps, the sipp uac and uas (/proc), their total, the call rate that
 * total allows on this machine's cores, and the machine-wide busy time per call (meaningful on an idle machine only).
 * Options:
 *   --apps N              N B2BUA app processes (the engine round-robins INVITEs over them); default 1
 *   --overload [SECONDS]  after the capacity search, offer 2× the highest clean rate for SECONDS (default 60): the
 *                         achieved rate, calls shed with 503 and admitted calls that failed
 *   --memory N            engine memory per active call with N held calls
 *   --burst N             the engine's RSS idle (fresh engine, apps connected, a 200-call warm-up, before any rate
 *                         step), then N calls at the highest clean rate (or --burst-rate), then its RSS a minute
 *                         later, with where the RSS is (malloc heap, V8 heap, other anonymous memory, files)
 *   --burst-rate R        the burst's rate (calls/s) instead of the highest clean rate (e.g. with --rates none)
 * The engine runs with ENGINE_PROCESS_ENV (packages/engine/src/launch.ts: jemalloc), as `kumo up` starts it;
 * KUMO_BENCH_MALLOC=glibc starts it without (glibc malloc), for a same-machine comparison. Its node flags are
 * ENGINE_NODE_ARGS (the GC floor, docs/engine.md "GC slack"); KUMO_BENCH_ENGINE_DEFAULT_GC=1 leaves them out.
 *   --overload-rate R     offer R calls/s in the overload step instead of 2× the highest clean rate (e.g. the same
 *                         absolute load for two builds whose clean rate differs on a busy machine)
 *   KUMO_BENCH_ENGINE_ARGS='--trace-gc …'  more node flags for the engine process only
 *   KUMO_BENCH_COUNTS=1   the engine's SIP message counters (its Prometheus metrics) per completed call, per step
 *   KUMO_BENCH_TRACE=1    the admission controller's state once a second (engine-proc.mjs)
 *   KUMO_BENCH_PERF=<dir> `perf record` of the engine's CPU samples per rate step, and where they fell (kernel by
 *                         system call, user space, GC); perf's own cost is small but present in that run's CPU figures
 *   KUMO_BENCH_STRACE=1   count the engine's system calls per call in each rate step (`strace -f -c` attached to the
 *                         engine for the step; it slows the engine, so the CPU figures of such a run are not figures)
 *
 *   npx tsc -b && node --expose-gc loadtest/engine/bench.mjs [--rates 1000,1500,2000] [--calls 20000] [--tcp]
 *     [--apps 2] [--overload 60] [--memory 10000] [--burst 20000 [--burst-rate 1500]]
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { ENGINE_NODE_ARGS, engineProcessEnv } from '../../packages/engine/dist/index.js';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const rates = String(opt('rates', '1000,1500,2000,2500,3000')).split(',').map(Number).filter((n) => n > 0);
const CALLS = Number(opt('calls', '20000'));
const transport = args.includes('--tcp') ? 'tcp' : 'udp';
const memoryCalls = args.includes('--memory') ? Number(opt('memory', '10000')) : 0;
const appCount = Math.max(1, Number(opt('apps', '1')));
const overloadS = args.includes('--overload') ? Number(/^\d+$/.test(String(opt('overload', ''))) ? opt('overload') : 60) : 0;
const overloadRate = Number(opt('overload-rate', '0')) || 0;
const burstCalls = args.includes('--burst') ? Number(opt('burst', '20000')) : 0;
const burstRate = Number(opt('burst-rate', '0')) || 0;
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const here = new URL('.', import.meta.url).pathname;

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function sipp(argv, label) {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-bench-'));
  const stf = join(dir, 'stat.csv');
  const child = spawn('sipp', [...argv, '-t', transport === 'tcp' ? 't1' : 'u1', '-i', '127.0.0.1', '-nostdin', '-trace_stat', '-stf', stf, '-fd', '1', '-max_socket', '60000', '-buff_size', '8388608'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise((resolve) => {
    child.on('exit', (code) => {
      let s = { ok: 0, failed: 0, retrans: 0, elapsed: 0 };
      if (existsSync(stf)) {
        const lines = readFileSync(stf, 'utf8').trim().split('\n');
        const h = lines[0].split(';');
        const last = lines[lines.length - 1].split(';');
        const col = (n) => Number(last[h.indexOf(n)] ?? 0) || 0;
        s = { ok: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), retrans: col('Retransmissions(C)'), elapsed: last[h.indexOf('ElapsedTime(C)')] };
        // why calls failed (sipp's own counters), e.g. unexpected=503 shed, maxRetrans/timeout=an admitted call lost
        // the offering window: the first stat row where every call was created
        const created = h.indexOf('TotalCallCreated');
        const okc = h.indexOf('SuccessfulCall(C)');
        const epoch = (v) => Number(String(v).split('\t').pop());
        const startCol = h.indexOf('StartTime');
        const curCol = h.indexOf('CurrentTime');
        const total = Number(last[created]);
        for (const line of lines.slice(1)) {
          const r = line.split(';');
          if (Number(r[created]) >= total) {
            s.window = { ok: Number(r[okc]), seconds: Math.max(0.1, epoch(r[curCol]) - epoch(r[startCol])) };
            break;
          }
        }
        s.why = Object.fromEntries(
          [['unexpected', 'FailedUnexpectedMessage(C)'], ['maxRetrans', 'FailedMaxUDPRetrans(C)'], ['timeoutRecv', 'FailedTimeoutOnRecv(C)'], ['timeoutSend', 'FailedTimeoutOnSend(C)'], ['rejected', 'FailedCallRejected(C)'], ['callTimeout', 'FailedCallTimeout(C)'], ['deadCallMsgs', 'DeadCallMsgs(C)'], ['outOfCallMsgs', 'OutOfCallMsgs(C)']]
            .map(([k, n]) => [k, col(n)])
            .filter(([, v]) => v > 0),
        );
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, ...s, err: err.slice(-500), label });
    });
  });
  return { child, done };
}

function startChild(file, argv) {
  // KUMO_BENCH_PROF=<dir>: a CPU profile of the engine process (written when it exits)
  const prof = process.env.KUMO_BENCH_PROF && file === 'engine-proc.mjs' ? ['--cpu-prof', '--cpu-prof-dir', process.env.KUMO_BENCH_PROF] : [];
  // the engine with the environment `kumo up` and the unit files give it (its allocator: ENGINE_PROCESS_ENV);
  // KUMO_BENCH_MALLOC=glibc: without it, to compare
  const env = file === 'engine-proc.mjs' && process.env.KUMO_BENCH_MALLOC !== 'glibc' ? engineProcessEnv(process.env) : process.env;
  // the engine's node flags as production sets them (ENGINE_NODE_ARGS; KUMO_BENCH_ENGINE_DEFAULT_GC=1 leaves them out);
  // KUMO_BENCH_ENGINE_ARGS: more node flags for the engine process only (e.g. `--trace-gc`, `--max-semi-space-size=32`)
  const own = file === 'engine-proc.mjs' && process.env.KUMO_BENCH_ENGINE_DEFAULT_GC !== '1' ? [...ENGINE_NODE_ARGS] : [];
  const more = file === 'engine-proc.mjs' ? [...own, ...(process.env.KUMO_BENCH_ENGINE_ARGS ?? '').split(' ').filter((a) => a !== '')] : [];
  // KUMO_BENCH_PERF: JIT frames named in perf's samples (/tmp/perf-<pid>.map)
  if (file === 'engine-proc.mjs' && process.env.KUMO_BENCH_PERF) more.push('--perf-basic-prof-only-functions');
  const c = fork(join(here, file), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc', ...prof, ...more], env });
  return new Promise((resolve, reject) => {
    c.once('message', (m) => (m.ready ? resolve(c) : reject(new Error('bad ready'))));
    c.once('exit', (code) => reject(new Error(`${file} exited ${code}`)));
  });
}
const ask = (c) => new Promise((resolve) => {
  c.once('message', resolve);
  c.send('stats');
});
/** The engine's stats right after a full GC in it (`--expose-gc` is on for the children). */
const gcStats = () => new Promise((resolve) => {
  engine.once('message', resolve);
  engine.send('gc');
});
/** The kernel's UDP RcvbufErrors (datagrams dropped because a socket's receive buffer was full; Linux), or NaN. */
function rcvbufErrors() {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const h = lines[0].split(/\s+/);
    return Number(lines[1].split(/\s+/)[h.indexOf('RcvbufErrors')]);
  } catch {
    return NaN;
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Where a process's resident memory is (Linux /proc): RssAnon/RssFile from status, and from smaps the resident part
 * of the main malloc arena (`[heap]`, grown with brk), of the other anonymous mappings (V8's heap pages, the malloc
 * arenas of other threads, large mmapped malloc chunks) and of files (the node binary, libraries). Bytes; {} off Linux.
 */
function procMem(pid) {
  const out = {};
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    for (const k of ['VmRSS', 'RssAnon', 'RssFile', 'RssShmem']) out[k] = Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1] ?? NaN) * 1024;
    let kind = 'file';
    out.brkHeap = 0;
    out.anonMaps = 0;
    out.fileMaps = 0;
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) {
        const name = head[1];
        kind = name === '[heap]' ? 'brkHeap' : name === '' ? 'anonMaps' : name.startsWith('[') ? 'other' : 'fileMaps';
        continue;
      }
      const rss = /^Rss:\s+(\d+) kB/.exec(line);
      if (rss && kind !== 'other') out[kind] += Number(rss[1]) * 1024;
    }
  } catch {
    /* not Linux */
  }
  return out;
}
const mb = (b) => (Number.isFinite(b) ? (b / 1e6).toFixed(1) : 'n/a');
/** One reading of the engine's memory: its own process.memoryUsage() (after a full GC in it when `gc`) and /proc. */
async function engineMem(gc) {
  const s = gc ? await gcStats() : await ask(engine);
  return { ...s, proc: procMem(engine.pid) };
}
/** "RSS … MB (anon …: malloc heap …, other anon …; files …); V8 heap used/total …; external … (ArrayBuffers …)". */
function memText(m) {
  const p = m.proc;
  return `RSS ${mb(m.rss)} MB (anonymous ${mb(p.RssAnon)}: malloc [heap] ${mb(p.brkHeap)}, other anonymous mappings ${mb(p.anonMaps)}; files ${mb(p.RssFile)}); V8 heap used ${mb(m.mem?.heapUsed)} of ${mb(m.mem?.heapTotal)} MB; external ${mb(m.mem?.external)} MB (ArrayBuffers ${mb(m.mem?.arrayBuffers)})`;
}

/**
 * KUMO_BENCH_STRACE=1: `strace -f -c` attached to the engine (all its threads) for one step; `stop(calls)` detaches it
 * and returns the system calls per call by name, most frequent first (load-insensitive, unlike CPU time).
 */
function straceEngine() {
  if (process.env.KUMO_BENCH_STRACE !== '1') return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-strace-'));
  const out = join(dir, 'summary.txt');
  const child = spawn('strace', ['-f', '-c', '-o', out, '-p', String(engine.pid)], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    ready: sleep(500),
    async stop(calls) {
      child.kill('SIGINT');
      await exited;
      const rows = [];
      let total = 0;
      for (const line of (existsSync(out) ? readFileSync(out, 'utf8') : '').split('\n')) {
        const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)(?:\s+\d+)?\s+(\w+)\s*$/.exec(line);
        if (m && m[2] !== 'total') rows.push([m[2], Number(m[1])]);
        const t = /^\s*100\.00\s+[\d.]+\s+\d+\s+(\d+)(?:\s+\d+)?\s+total/.exec(line);
        if (t) total = Number(t[1]);
      }
      rmSync(dir, { recursive: true, force: true });
      const per = (n) => (n / Math.max(1, calls)).toFixed(2);
      return `engine syscalls per call ${per(total)}: ${rows.filter(([, n]) => n / calls >= 0.05).map(([k, n]) => `${k} ${per(n)}`).join(', ')}`;
    },
  };
}

/**
 * KUMO_BENCH_PERF=<dir>: `perf record -e cpu-clock -g` attached to the engine for each rate step (<dir>/engine-<rate>.data),
 * and a line with where its CPU samples fell: the kernel's share, split by system call and entry (the UDP sends, the
 * control link's writes and reads, epoll, page faults, scheduling), and user space. CPU samples, unlike the V8
 * profile (KUMO_BENCH_PROF), whose ticks are wall time: there a send that wakes the receiver and is preempted by it
 * counts its waiting too. Look further with `perf report -i <file>` (JIT frames named).
 */
function perfEngine(rate) {
  const dir = process.env.KUMO_BENCH_PERF;
  if (!dir) return undefined;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `engine-${rate}.data`);
  const child = spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '999', '-g', '-o', file, '-p', String(engine.pid)], { stdio: 'ignore' });
  child.once('error', () => undefined);
  const exited = new Promise((r) => child.once('exit', r));
  return {
    ready: sleep(500),
    async stop() {
      child.kill('SIGINT');
      await exited;
      const report = (...a) => spawnSync('perf', ['report', '-i', file, '--stdio', '-g', 'none', ...a], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout ?? '';
      const share = (text, re) => {
        let sum = 0;
        for (const line of text.split('\n')) {
          const m = /^\s*([\d.]+)%\s+(?:[\d.]+%\s+)?(.*)$/.exec(line);
          if (m && re.test(m[2])) sum += Number(m[1]);
        }
        return sum;
      };
      const dso = report('--no-children', '--sort', 'dso');
      const kernel = share(dso, /\[kernel/);
      if (kernel === 0 && !dso.includes('%')) return 'perf: no samples (is perf installed, and may it attach?)';
      const kids = report('--children', '--sort', 'sym');
      const parts = [
        ['UDP sendmsg', /\[k\] __sys_sendmsg$/],
        ['recvmsg', /\[k\] __sys_recvmsg$/],
        ['control-link write', /\[k\] ksys_write$/],
        ['control-link read', /\[k\] ksys_read$/],
        ['epoll', /\[k\] __x64_sys_epoll_pwait$/],
        ['page faults', /\[k\] asm_exc_page_fault$/],
        ['futex', /\[k\] __x64_sys_futex$/],
      ].map(([k, re]) => `${k} ${share(kids, re).toFixed(1)}`);
      const gc = share(report('--no-children', '--sort', 'sym'), /Scaveng|MarkCompact|Marking|Sweep|Evacuat|\bHeap::/);
      return `engine CPU samples (perf, ${file}): kernel ${kernel.toFixed(1)} % (${parts.join(', ')} %, the rest scheduling and interrupts), user space ${(100 - kernel).toFixed(1)} % (V8 GC ${gc.toFixed(1)} %)`;
    },
  };
}

async function step(rate, calls, targetPort, extra = []) {
  const uac = sipp(['-sn', 'uac', `127.0.0.1:${targetPort}`, '-p', String(await freePort()), '-r', String(rate), '-m', String(calls), '-l', String(Math.max(rate * 4, 2000)), '-timeout', `${Math.ceil(calls / rate) * 3 + 30}s`, '-timeout_error', ...extra], 'uac');
  const t0 = Date.now();
  const u = await uac.done;
  return { ...u, seconds: (Date.now() - t0) / 1000 };
}

const sipPort = await freePort();
const controlPort = await freePort();
const uasPort = await freePort();
const engine = await startChild('engine-proc.mjs', [String(sipPort), String(controlPort), transport]);
const apps = [];
for (let i = 0; i < appCount; i++) apps.push(await startChild('b2b-app.mjs', [String(controlPort), String(uasPort), transport]));
const first = await ask(engine);
console.log(`transport ${transport}; engine sip ${sipPort}, control ${controlPort}; uas ${uasPort}; ${appCount} app process(es); engine UDP receive buffer granted ${first.stats.udpRecvBuffer} bytes; engine malloc ${first.malloc}; load average ${load()}`);

/**
 * CPU-seconds from /proc (Linux; NaN elsewhere), in clock ticks of 10 ms (USER_HZ 100 on Linux): `procCpu(pid)` a
 * process's user + system time (fields 14–15 of /proc/<pid>/stat); `reapedCpu()` the time of this process's children
 * that have exited and been reaped (cutime + cstime of /proc/self/stat: a step's sipp uac, which ends within the step);
 * `machineCpu()` every CPU's busy time (all processes and the kernel's network work wherever it ran — a figure only
 * on an otherwise idle machine).
 */
const TICK_S = 0.01;
function statFields(pid) {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return t.slice(t.lastIndexOf(')') + 2).split(' ').map(Number); // [0] is field 3 (state)
  } catch {
    return undefined;
  }
}
const procCpu = (pid) => {
  const f = statFields(pid);
  return f ? (f[11] + f[12]) * TICK_S : NaN;
};
const reapedCpu = () => {
  const f = statFields('self');
  return f ? (f[13] + f[14]) * TICK_S : NaN;
};
function machineCpu() {
  // wall time × cores − idle (idle and iowait are kept exactly on a tickless kernel; the busy columns are tick samples,
  // which miss the short bursts of a loaded SIP path)
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (performance.now() / 1000) * availableParallelism() - (v[3] + v[4]) * TICK_S;
  } catch {
    return NaN;
  }
}

/** CPU-seconds of the engine (user and system apart), of all apps and of the sipp processes, and the engine's stats. */
async function cpuNow() {
  const e = await ask(engine);
  let a = 0;
  for (const p of apps) {
    const s = await ask(p);
    a += (s.cpu.user + s.cpu.system) / 1e6;
  }
  return {
    engine: (e.cpu.user + e.cpu.system) / 1e6,
    engineUser: e.cpu.user / 1e6,
    engineSys: e.cpu.system / 1e6,
    apps: a,
    uas: procCpu(uasMain.child.pid),
    reaped: reapedCpu(),
    machine: machineCpu(),
    stats: e.stats,
    syscw: e.io?.syscw ?? NaN,
    counts: e.counts,
  };
}

/** KUMO_BENCH_COUNTS=1: the engine's SIP message counters over a step, per completed call (those above 0.005). */
function countsLine(c0, c1, calls) {
  if (!c1.counts) return '';
  const parts = [];
  for (const [k, v] of Object.entries(c1.counts)) {
    const d = (v - (c0.counts?.[k] ?? 0)) / Math.max(1, calls);
    if (d >= 0.005) parts.push(`${k} ${d.toFixed(2)}`);
  }
  return `engine messages per completed call: ${parts.join(', ')}`;
}
const perK = (sec, calls) => (calls > 0 ? ((sec * 1000) / calls).toFixed(3) : 'n/a');
/**
 * The CPU budget of a step: CPU-ms per call of every process on the call's path (engine, apps, the sipp uac — the
 * step's own process, reaped when it ends — and the sipp uas), their sum, and the call rate that sum allows on this
 * machine's cores (availableParallelism × 1000 / ms per call), with the machine-wide busy time per call beside it.
 */
function budget(c0, c1, calls) {
  const ms = (sec) => (calls > 0 ? (sec * 1000) / calls : NaN);
  const eng = ms(c1.engine - c0.engine);
  const app = ms(c1.apps - c0.apps);
  const uac = ms(c1.reaped - c0.reaped);
  const uas = ms(c1.uas - c0.uas);
  const total = eng + app + uac + uas;
  const cores = availableParallelism();
  const ceiling = (t) => (Number.isFinite(t) && t > 0 ? ((cores * 1000) / t).toFixed(0) : 'n/a');
  const machine = ms(c1.machine - c0.machine);
  const f = (x) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  return `CPU budget per call (ms): engine ${f(eng)} (user ${f(ms(c1.engineUser - c0.engineUser))}, system ${f(ms(c1.engineSys - c0.engineSys))}) + apps ${f(app)} + sipp uac ${f(uac)} + sipp uas ${f(uas)} = ${f(total)} → ceiling ${ceiling(total)} calls/s on ${cores} cores; machine-wide busy ${f(machine)} ms per call (→ ${ceiling(machine)} calls/s; includes whatever else ran)`;
}
// one sipp uas behind the B2BUA for the whole run
const uasMain = sipp(['-sn', 'uas', '-p', String(uasPort), '-m', '100000000'], 'uas');
await sleep(2000);

/** Waits (at most `maxS` seconds) until the engine holds no transaction and no dialog. */
async function engineQuiet(maxS) {
  for (let i = 0; i < maxS; i++) {
    const s = (await ask(engine)).stats;
    if (s.serverTransactions + s.clientTransactions + s.dialogs === 0) return true;
    await sleep(1000);
  }
  return false;
}

// --burst: the engine's idle memory on a fresh engine (apps connected, 200 calls through it, their transactions
// ended), before any rate step raises it
let burstIdle;
if (burstCalls > 0) {
  const w = await step(100, 200, sipPort);
  await engineQuiet(45);
  burstIdle = await engineMem(true);
  console.log(`burst idle (fresh engine, ${w.ok}/200 warm-up calls, their transactions ended, after a GC): ${memText(burstIdle)}; load average ${load()}`);
}

if (rates.length > 0) {
  const warm = await step(300, 3000, sipPort);
  console.log(`warm-up: 3000 calls at 300/s → ok ${warm.ok} failed ${warm.failed} retrans ${warm.retrans}`);
}

let best = 0;
let bestAchieved = 0;
let bestRetrans = 0;
let bestCpu = '';
for (const rate of rates) {
  const c0 = await cpuNow();
  const k0 = rcvbufErrors();
  const st = straceEngine();
  const pf = perfEngine(rate);
  await st?.ready;
  await pf?.ready;
  const r = await step(rate, CALLS, sipPort);
  const uacReaped = reapedCpu(); // before strace or perf (also reaped children) end
  const sys = st ? `; ${await st.stop(r.ok)}` : '';
  const perfLine = pf ? await pf.stop() : '';
  const c1 = { ...(await cpuNow()), reaped: uacReaped };
  const drops = rcvbufErrors() - k0;
  const achieved = r.ok / r.seconds;
  const clean = r.code === 0 && r.failed === 0 && r.ok === CALLS;
  const cpu = `engine ${perK(c1.engine - c0.engine, r.ok)} CPU-s, apps ${perK(c1.apps - c0.apps, r.ok)} CPU-s per 1,000 calls`;
  console.log(`B2BUA offered ${rate} calls/s × ${CALLS}: ok ${r.ok} failed ${r.failed} retrans ${r.retrans} in ${r.seconds.toFixed(1)} s (${achieved.toFixed(0)} calls/s achieved) exit ${r.code} → ${clean ? (r.retrans === 0 ? 'clean' : 'no failures, with retransmissions') : 'FAILED'}; ${cpu}; shed ${c1.stats.shed - c0.stats.shed}; engine write syscalls (control link) per call ${((c1.syscw - c0.syscw) / Math.max(1, r.ok)).toFixed(2)}; kernel UDP RcvbufErrors +${drops}; load average ${load()}${sys}`);
  console.log(`  ${budget(c0, c1, r.ok)}`);
  if (c1.counts) console.log(`  ${countsLine(c0, c1, r.ok)}`);
  if (perfLine) console.log(`  ${perfLine}`);
  // what the engine holds right after the step, its transactions still within their timers (RFC 6026: 32 s)
  const held = await gcStats();
  console.log(`  engine heap right after the step, after a full GC: ${mb(held.mem?.heapUsed)} MB used with ${held.stats.serverTransactions} server and ${held.stats.clientTransactions} client transactions live (${((held.mem?.heapUsed ?? 0) / Math.max(1, held.stats.serverTransactions + held.stats.clientTransactions) / 1000).toFixed(2)} KB per transaction); RSS ${mb(held.rss)} MB`);
  if (!clean) break;
  best = rate;
  bestAchieved = achieved;
  bestRetrans = r.retrans;
  bestCpu = cpu;
  await sleep(2000);
}

// baseline in the same run: sipp uac → sipp uas directly, same offered rates
let baseBest = 0;
let baseAchieved = 0;
const directUas = await freePort();
if (rates.length === 0) rates.push(); // nothing to compare
const uasDirect = sipp(['-sn', 'uas', '-p', String(directUas), '-m', '100000000'], 'uas');
await sleep(1000);
for (const rate of rates) {
  const b0 = { uac: reapedCpu(), uas: procCpu(uasDirect.child.pid) };
  const r = await step(rate, CALLS, directUas);
  const clean = r.code === 0 && r.failed === 0 && r.ok === CALLS;
  const sippMs = (((reapedCpu() - b0.uac) + (procCpu(uasDirect.child.pid) - b0.uas)) * 1000) / Math.max(1, r.ok);
  console.log(`baseline sipp→sipp offered ${rate}/s × ${CALLS}: ok ${r.ok} failed ${r.failed} retrans ${r.retrans} in ${r.seconds.toFixed(1)} s (${(r.ok / r.seconds).toFixed(0)} calls/s achieved); sipp uac + uas ${Number.isFinite(sippMs) ? sippMs.toFixed(3) : 'n/a'} CPU-ms per call`);
  if (!clean) break;
  baseBest = rate;
  baseAchieved = r.ok / r.seconds;
  if (rate > best && best > 0) break;
}
uasDirect.child.kill('SIGTERM');

// overload: 2× the highest clean rate for overloadS seconds. Calls the engine sheds (503 + Retry-After) count as
// failed in sipp; admitted calls that failed = sipp's failed − shed.
let overloadLine = '';
if (overloadS > 0 && best > 0) {
  await sleep(3000);
  const rate = overloadRate > 0 ? overloadRate : best * 2;
  const c0 = await cpuNow();
  const k0 = rcvbufErrors();
  const r = await step(rate, rate * overloadS, sipPort);
  const c1 = await cpuNow();
  const drops = rcvbufErrors() - k0;
  const shed = c1.stats.shed - c0.stats.shed;
  // every new INVITE the engine admitted (handed to an app) is one call; those that did not end as a successful sipp
  // call are the admitted calls that failed. Shed INVITEs (retransmissions of one included) are counted apart.
  const admitted = c1.stats.admitted - c0.stats.admitted;
  const admittedFailed = admitted - r.ok;
  // achieved over the offering window (sipp's stat rows), not the tail of stragglers after it
  const win = r.window ?? { ok: r.ok, seconds: r.seconds };
  const achieved = win.ok / win.seconds;
  overloadLine = `overload: offered ${rate}/s (${overloadRate > 0 ? `${(rate / best).toFixed(1)}×` : '2×'} ${best}) for ${overloadS} s: ok ${r.ok}, ${achieved.toFixed(0)} calls/s completed while offering (${win.seconds.toFixed(1)} s) = ${((achieved / bestAchieved) * 100).toFixed(0)} % of capacity; admitted ${admitted}, admitted calls failed ${admittedFailed}; shed with 503 ${shed} INVITEs; retrans ${r.retrans}; sipp failure reasons ${JSON.stringify(r.why)}; engine ${perK(c1.engine - c0.engine, r.ok)} CPU-s, apps ${perK(c1.apps - c0.apps, r.ok)} CPU-s per 1,000 calls; kernel UDP RcvbufErrors +${drops}; load average ${load()}`;
  console.log(overloadLine);
  if (c1.counts) console.log(`  ${countsLine(c0, c1, r.ok)}`);
}

const burstAt = burstRate > 0 ? burstRate : best;
if (burstCalls > 0 && burstAt > 0) {
  await sleep(3000);
  const c0 = await cpuNow();
  const r = await step(burstAt, burstCalls, sipPort);
  const c1 = await cpuNow();
  // how the RSS falls over the minute after the burst (no GC forced), then a reading after a full GC in the engine
  const trace = [];
  for (let t = 0; t <= 60; t += 10) {
    if (t > 0) await sleep(10000);
    trace.push(`${t} s ${mb((await engineMem(false)).rss)}`);
  }
  const after = await engineMem(false);
  const afterGc = await engineMem(true);
  const idle = burstIdle;
  console.log(`burst: ${r.ok}/${burstCalls} calls at ${burstAt}/s (failed ${r.failed}, retrans ${r.retrans}); engine ${perK(c1.engine - c0.engine, r.ok)} CPU-s per 1,000 calls; RSS after the burst (MB, no GC forced): ${trace.join(', ')}; load average ${load()}`);
  console.log(`burst memory a minute after: ${memText(after)}; after a full GC: ${memText(afterGc)}`);
  console.log(`burst: engine RSS idle ${mb(idle.rss)} MB → ${mb(after.rss)} MB a minute after (${mb(after.rss - idle.rss)} MB above idle; goal ≤ 50 MB), ${mb(afterGc.rss)} MB after a forced GC; heap ${mb(idle.heap)} → ${mb(afterGc.heap)} MB`);
}

if (memoryCalls > 0) {
  await sleep(3000);
  const idle = await gcStats();
  const memRate = 300;
  const hold = Math.ceil(memoryCalls / memRate) * 1000 + 60000;
  const uac = sipp(['-sn', 'uac', `127.0.0.1:${sipPort}`, '-p', String(await freePort()), '-r', String(memRate), '-m', String(memoryCalls), '-d', String(hold), '-l', String(memoryCalls + 10), '-timeout', `${Math.ceil(hold / 1000) * 2 + 60}s`], 'uac');
  await sleep(Math.ceil(memoryCalls / memRate) * 1000 + 3000);
  // the set-up transactions end with their timers (RFC 6026 Accepted: 64·T1 = 32 s): wait for them, so what is left is
  // what an active call costs
  for (let i = 0; i < 45; i++) {
    const s = (await ask(engine)).stats;
    if (s.serverTransactions + s.clientTransactions <= memoryCalls / 100) break;
    await sleep(1000);
  }
  const full = await gcStats(); // a full GC in the engine first: live memory, not garbage
  const calls = Math.max(1, full.stats.dialogs / 2);
  console.log(`memory: ${full.stats.dialogs} engine dialogs (${calls} active B2BUA calls, 2 dialogs each); engine RSS ${(idle.rss / 1e6).toFixed(1)} MB idle → ${(full.rss / 1e6).toFixed(1)} MB; heap ${(idle.heap / 1e6).toFixed(1)} → ${(full.heap / 1e6).toFixed(1)} MB; ≈ ${((full.rss - idle.rss) / calls / 1000).toFixed(1)} KB RSS (${((full.heap - idle.heap) / calls / 1000).toFixed(1)} KB heap) per active call (goal ≤ 10 KB; ${full.stats.serverTransactions + full.stats.clientTransactions} transactions still live); load average ${load()}`);
  // Where the growth is: V8's committed heap, memory outside it (Buffers and other external), ArrayBuffers.
  const mbs = (a, b) => `${mb(a)} → ${mb(b)} MB`;
  console.log(`memory breakdown: V8 heap committed ${mbs(idle.mem.heapTotal, full.mem.heapTotal)}; external ${mbs(idle.mem.external, full.mem.external)} (ArrayBuffers ${mbs(idle.mem.arrayBuffers, full.mem.arrayBuffers)}); malloc ${full.malloc ?? 'unknown'}`);
  uac.child.kill('SIGTERM');
  await uac.done;
}

let appErrors = 0;
for (const p of apps) appErrors += (await ask(p)).errors;
console.log(`app B2BUA errors: ${appErrors}`);
console.log(`RESULT engine B2BUA (${transport}, ${appCount} app process(es)): highest offered rate with 0 failed calls over ${CALLS} calls = ${best}/s (achieved ${bestAchieved.toFixed(0)}/s, ${bestRetrans} sipp retransmissions; ${bestCpu}); baseline sipp→sipp: ${baseBest}/s (achieved ${baseAchieved.toFixed(0)}/s); ratio engine/baseline = ${baseAchieved > 0 ? (bestAchieved / baseAchieved).toFixed(2) : 'n/a'}; load average ${load()}`);
if (overloadLine) console.log(`RESULT ${overloadLine}`);
uasMain.child.kill('SIGTERM');
engine.kill('SIGTERM');
for (const p of apps) p.kill('SIGTERM');
process.exit(0);
