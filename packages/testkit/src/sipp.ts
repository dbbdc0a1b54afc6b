import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reservePorts } from './ports.js';
import { lintScenario, resolveBranchRefs } from './scenario.js';

/**
 * A bounded sipp (3.6) run: every run has a call count (`-m`) and a global timeout (`-timeout`), writes
 * its statistics and unexpected messages to a temp dir, and is parsed into a `SippResult`.
 */
export interface SippOptions {
  /** An XML scenario file (`-sf`), or a built-in one (`-sn uac`, `uas`, ...). */
  readonly scenario: { file: string } | { builtin: string };
  /** Remote `host:port` (omit for a pure UAS). */
  readonly target?: string;
  readonly transport?: 'udp' | 'tcp';
  readonly localHost?: string;
  /** Local SIP port (`-p`); default: a free port picked by sipp. */
  readonly localPort?: number;
  /** Calls to process before exiting (`-m`). Required: runs are always bounded. */
  readonly calls: number;
  /** Call rate per second (`-r`), default 10. */
  readonly rate?: number;
  /** Rate period in ms (`-rp`), default 1000. */
  readonly ratePeriodMs?: number;
  /** Max simultaneous calls (`-l`). */
  readonly limit?: number;
  /** Global timeout in seconds (`-timeout`, with `-timeout_error`). Default 30. */
  readonly timeoutS?: number;
  /** Request-URI user (`-s`), default `service`. */
  readonly service?: string;
  /** `-key name value` pairs, usable as [name] in scenarios. */
  readonly keys?: Readonly<Record<string, string>>;
  /** Extra raw arguments. */
  readonly args?: readonly string[];
  /** Path of the sipp binary, default `sipp`. */
  readonly bin?: string;
  /** Run a scenario that fails `lintScenario` (only for tests of how Kumo treats a broken peer). */
  readonly lenient?: boolean;
}

export interface SippResult {
  /** sipp's exit code: 0 all calls succeeded, 1 some failed, 97/99 other ends, 255 fatal. */
  readonly code: number | null;
  readonly ok: boolean;
  readonly successful: number;
  readonly failed: number;
  readonly retransmissions: number;
  /** Highest `CurrentCall` over the `-fd 1` rows of the stat file (concurrent calls at the peak). */
  readonly peakCurrentCalls: number;
  /** Unexpected-message log (`-trace_err`). */
  readonly errors: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface SippHandle {
  readonly process: ChildProcess;
  readonly done: Promise<SippResult>;
  /** SIGTERM (then SIGKILL after 2 s) and wait. */
  stop(): Promise<SippResult>;
}

function parseStatCsv(path: string): { successful: number; failed: number; retransmissions: number; peakCurrentCalls: number } {
  const zero = { successful: 0, failed: 0, retransmissions: 0, peakCurrentCalls: 0 };
  if (!existsSync(path)) return zero;
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  if (lines.length < 2) return zero;
  const head = (lines[0] as string).split(';');
  const last = (lines[lines.length - 1] as string).split(';');
  const col = (name: string): number => {
    const i = head.indexOf(name);
    return i < 0 ? 0 : Number(last[i] ?? 0) || 0;
  };
  const cur = head.indexOf('CurrentCall');
  let peakCurrentCalls = 0;
  if (cur >= 0) for (const l of lines.slice(1)) peakCurrentCalls = Math.max(peakCurrentCalls, Number(l.split(';')[cur] ?? 0) || 0);
  return { successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), retransmissions: col('Retransmissions(C)'), peakCurrentCalls };
}

/**
 * Starts sipp in the background (e.g. a UAS) and returns a handle. A scenario file that is not
 * RFC-correct (`lintScenario`) is not run: startSipp throws, naming the problems, so no test can
 * pass on a leniency of Kumo's own engine.
 */
export function startSipp(o: SippOptions): SippHandle {
  let xml: string | undefined;
  if ('file' in o.scenario) {
    xml = readFileSync(o.scenario.file, 'utf8');
    const problems = o.lenient === true ? [] : lintScenario(xml);
    if (problems.length > 0) throw new Error(`sipp scenario ${o.scenario.file} is not RFC-correct:\n  ${problems.join('\n  ')}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kumo-sipp-'));
  const stf = join(dir, 'stat.csv');
  const errFile = join(dir, 'errors.log');
  const args: string[] = [];
  if ('file' in o.scenario) {
    const resolved = resolveBranchRefs(xml as string);
    if (resolved === xml) args.push('-sf', o.scenario.file);
    else {
      const copy = join(dir, 'scenario.xml');
      writeFileSync(copy, resolved);
      args.push('-sf', copy);
    }
  } else args.push('-sn', o.scenario.builtin);
  if (o.target) args.push(o.target);
  args.push('-t', o.transport === 'tcp' ? 't1' : 'u1');
  args.push('-i', o.localHost ?? '127.0.0.1');
  // sipp's own defaults (SIP 5060 upwards, media 6000 upwards with the video port +2 unchecked) collide
  // between concurrent runs: both come from the test kit's reserved range instead (ports.ts).
  args.push('-p', String(o.localPort ?? reservePorts(1)));
  if (!(o.args ?? []).includes('-mp')) args.push('-mp', String(reservePorts(4)));
  args.push('-m', String(o.calls));
  args.push('-r', String(o.rate ?? 10), '-rp', String(o.ratePeriodMs ?? 1000));
  if (o.limit !== undefined) args.push('-l', String(o.limit));
  args.push('-timeout', `${o.timeoutS ?? 30}s`, '-timeout_error');
  args.push('-s', o.service ?? 'service');
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, v);
  args.push('-nostdin', '-trace_err', '-error_file', errFile, '-trace_stat', '-stf', stf, '-fd', '1');
  args.push(...(o.args ?? []));
  const started = Date.now();
  const child = spawn(o.bin ?? 'sipp', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    if (stdout.length < 200000) stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 200000) stderr += d.toString();
  });
  const done = new Promise<SippResult>((resolve) => {
    const finish = (code: number | null): void => {
      const stats = parseStatCsv(stf);
      const errors = existsSync(errFile) ? readFileSync(errFile, 'utf8') : '';
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, ok: code === 0, ...stats, errors, stdout, stderr, durationMs: Date.now() - started });
    };
    child.once('error', (err) => {
      stderr += String(err);
      finish(255);
    });
    child.once('exit', (code) => finish(code));
  });
  return {
    process: child,
    done,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 2000);
        const r = await done;
        clearTimeout(t);
        return r;
      }
      return done;
    },
  };
}

/** Runs sipp to completion. */
export function runSipp(o: SippOptions): Promise<SippResult> {
  return startSipp(o).done;
}
