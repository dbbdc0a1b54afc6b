/**
 * Debian's own softphones, headless, for the interop suite: baresip (driven over its ctrl_tcp
 * netstring JSON interface, tone from `aufile`, far-end audio recorded by `sndfile`) and
 * linphonec (driven over stdin, `soundcard use files` with `play`/`record`). Each runs in its own
 * temporary directory (config, HOME, recordings) with default account settings: no digest or
 * codec option is changed, which is the point of the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Transport = 'udp' | 'tcp';

/** Waits until `pred` holds (polling), or throws after `ms`. */
export async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Stops a child: SIGTERM, SIGKILL after 2 s; resolves when it exited. */
function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => p.kill('SIGKILL'), 2000);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill('SIGTERM');
  });
}

export interface PhoneAccount {
  readonly user: string;
  readonly domain: string;
  readonly password: string;
  /** Kumo's SIP address (outbound proxy; the domain need not resolve). */
  readonly proxy: { readonly host: string; readonly port: number };
  readonly transport: Transport;
}

interface BaresipEvent {
  readonly type?: string;
  readonly param?: string;
  readonly [k: string]: unknown;
}

export class Baresip {
  readonly events: BaresipEvent[] = [];
  output = '';
  private buf = '';
  private token = 0;
  private readonly answers = new Map<string, (r: { ok: boolean; data: string }) => void>();
  private constructor(
    readonly dir: string,
    private readonly proc: ChildProcess,
    private readonly ctrl: Socket,
  ) {
    ctrl.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      for (;;) {
        const colon = this.buf.indexOf(':');
        if (colon < 0) return;
        const len = Number(this.buf.slice(0, colon));
        if (this.buf.length < colon + 1 + len + 1) return;
        const json = this.buf.slice(colon + 1, colon + 1 + len);
        this.buf = this.buf.slice(colon + 1 + len + 1);
        const m = JSON.parse(json) as { event?: boolean; response?: boolean; ok?: boolean; data?: string; token?: string } & BaresipEvent;
        if (m.event === true) this.events.push(m);
        else if (m.response === true && m.token !== undefined) this.answers.get(m.token)?.({ ok: m.ok === true, data: m.data ?? '' });
      }
    });
    ctrl.on('error', () => undefined);
  }

  /**
   * Starts baresip with one account. `tone`: a WAV played into every call (aufile); what the far end
   * sends is written by sndfile into `dir` (`dump-*-dec.wav`). Calls are answered automatically
   * unless `answer` is `manual` (then `accept`). `more`: further accounts (user agents) of the same
   * process, like a phone with several lines. `trace`: baresip's own SIP trace (`-s`) in `output`, what
   * the client received.
   */
  static async start(o: {
    account: PhoneAccount;
    more?: readonly PhoneAccount[];
    answer?: 'auto' | 'manual';
    trace?: boolean;
    sipPort: number;
    ctrlPort: number;
    rtpPorts: [number, number];
    tone: string;
  }): Promise<Baresip> {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-baresip-'));
    writeFileSync(
      join(dir, 'config'),
      [
        'poll_method\t\tepoll',
        `sip_listen\t\t127.0.0.1:${o.sipPort}`,
        'net_interface\t\t127.0.0.1',
        'audio_player\t\talsa,null',
        'audio_alert\t\talsa,null',
        `audio_source\t\taufile,${o.tone}`,
        'module_path\t\t/usr/lib/baresip/modules',
        'module\t\t\tg711.so',
        'module\t\t\taufile.so',
        'module\t\t\talsa.so',
        'module\t\t\tsndfile.so',
        `snd_path\t\t${dir}`,
        'module_app\t\taccount.so',
        'module_app\t\tmenu.so',
        'module_app\t\tctrl_tcp.so',
        `ctrl_tcp_listen\t\t127.0.0.1:${o.ctrlPort}`,
        `rtp_ports\t\t${o.rtpPorts[0]}-${o.rtpPorts[1]}`,
        '',
      ].join('\n'),
    );
    // A plain account as a user would type it: AOR, password, Kumo as outbound proxy, answer mode.
    const line = (a: PhoneAccount): string =>
      `<sip:${a.user}@${a.domain};transport=${a.transport}>;auth_pass=${a.password};outbound="sip:${a.proxy.host}:${a.proxy.port};transport=${a.transport}";answermode=${o.answer ?? 'auto'}\n`;
    writeFileSync(join(dir, 'accounts'), [o.account, ...(o.more ?? [])].map(line).join(''));
    const proc = spawn('baresip', ['-f', dir, ...(o.trace === true ? ['-s'] : [])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } });
    let output = '';
    proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let sock: Socket | undefined;
    const end = Date.now() + 10_000;
    while (!sock) {
      try {
        sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port: o.ctrlPort });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
      } catch (err) {
        if (Date.now() > end || proc.exitCode !== null) throw new Error(`baresip did not start: ${String(err)}\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const b = new Baresip(dir, proc, sock);
    proc.stdout?.on('data', (d: Buffer) => (b.output += d.toString()));
    b.output = output;
    return b;
  }

  /** Sends a command (the menu's: dial, hangup, …); resolves with its answer. */
  command(command: string, params = ''): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.token);
    const json = JSON.stringify({ command, params, token });
    return new Promise((resolve) => {
      this.answers.set(token, resolve);
      this.ctrl.write(`${Buffer.byteLength(json)}:${json},`);
    });
  }

  has(type: string): boolean {
    return this.events.some((e) => e.type === type);
  }

  async waitEvent(type: string, ms = 10_000): Promise<void> {
    await until(() => this.has(type), ms, `baresip event ${type} (events: ${this.events.map((e) => e.type).join(',')})\n${this.output.slice(-2000)}`);
  }

  /** The recordings of what the far end sent (sndfile `*-dec.wav`). */
  received(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('-dec.wav'))
      .map((f) => join(this.dir, f));
  }

  async close(): Promise<void> {
    this.ctrl.destroy();
    await stop(this.proc);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class Linphone {
  output = '';
  private constructor(
    readonly dir: string,
    private readonly proc: ChildProcess,
  ) {
    proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  /** Starts linphonec with SIP on `sipPort` (UDP, or TCP), files instead of a sound card, auto answer. */
  static start(o: { sipPort: number; transport: Transport; rtpPorts: [number, number] }): Linphone {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-linphone-'));
    // liblinphone does not start its core (no SIP at all) when it cannot create its database.
    mkdirSync(join(dir, '.local', 'share', 'linphone'), { recursive: true });
    writeFileSync(
      join(dir, 'linphonerc'),
      [
        '[sip]',
        `sip_port=${o.transport === 'udp' ? o.sipPort : -1}`,
        `sip_tcp_port=${o.transport === 'tcp' ? o.sipPort : -1}`,
        'sip_tls_port=-1',
        'bind_address=127.0.0.1',
        '[rtp]',
        `audio_rtp_port=${o.rtpPorts[0]}-${o.rtpPorts[1]}`,
        '[net]',
        'ipv6=0',
        '[video]',
        'enabled=0',
        '',
      ].join('\n'),
    );
    // stdbuf: linphonec's stdout is block-buffered on a pipe; line buffering makes its log readable as it goes.
    const proc = spawn('stdbuf', ['-oL', '-eL', 'linphonec', '-c', join(dir, 'linphonerc')], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } });
    const l = new Linphone(dir, proc);
    l.send('soundcard use files');
    l.send('autoanswer enable');
    return l;
  }

  send(line: string): void {
    this.proc.stdin?.write(`${line}\n`);
  }

  async waitOutput(re: RegExp, ms = 10_000, from = 0): Promise<void> {
    await until(() => re.test(this.output.slice(from)), ms, `linphonec output ${re}\n${this.output.slice(-2000)}`);
  }

  /** Registers with the account's AOR, Kumo as proxy, and the password, as a user would type them; `registered` tells when it took. */
  async register(a: PhoneAccount, registered: () => Promise<boolean>): Promise<void> {
    this.send(`register sip:${a.user}@${a.domain} sip:${a.proxy.host}:${a.proxy.port};transport=${a.transport} ${a.password}`);
    const end = Date.now() + 15_000;
    while (!(await registered())) {
      if (Date.now() > end) throw new Error(`linphonec did not register\n${this.output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until linphonec has no call left (`calls` answers `No active call`). */
  async idle(ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      const mark = this.output.length;
      this.send('calls');
      const idle = await until(() => /No active calls?\.?\n|Call states|\d+\s*\|/.test(this.output.slice(mark)), 2000, 'linphonec calls').then(
        () => /No active calls?/.test(this.output.slice(mark)),
        () => false,
      );
      if (idle) return;
      if (Date.now() > end) throw new Error(`linphonec still has a call\n${this.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * The call history as linphonec prints it (`call-logs`: per call its direction, From, To and
   * `Status:` — `success`, `missed`, `answered elsewhere`, …), once it lists at least `calls` entries.
   */
  async callLogs(calls = 1): Promise<string> {
    const mark = this.output.length;
    this.send('call-logs');
    await until(() => (this.output.slice(mark).match(/Status:[^\n]*\n/g) ?? []).length >= calls, 5000, 'linphonec call-logs');
    return this.output.slice(mark);
  }

  async close(): Promise<void> {
    this.send('quit');
    await stop(this.proc);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Mono 16-bit PCM samples and rate of a WAV file. */
export function readWav(path: string): { rate: number; samples: Int16Array } {
  const b = readFileSync(path);
  let off = 12;
  let rate = 8000;
  let channels = 1;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      channels = b.readUInt16LE(off + 10);
      rate = b.readUInt32LE(off + 12);
    }
    if (id === 'data') {
      const n = Math.floor(Math.min(size, b.length - off - 8) / 2 / channels);
      const s = new Int16Array(n);
      for (let i = 0; i < n; i++) s[i] = b.readInt16LE(off + 8 + i * 2 * channels);
      return { rate, samples: s };
    }
    off += 8 + size + (size % 2);
  }
  throw new Error(`no data chunk in ${path}`);
}

/**
 * The tone in a recording: its dominant frequency (Goertzel scan over 100–3500 Hz in 1 Hz steps,
 * on the loudest second) and how long the signal lasts (20 ms frames above a tenth of the peak level).
 */
export function analyseTone(path: string): { frequency: number; seconds: number } {
  const { rate, samples } = readWav(path);
  const frame = Math.round(rate / 50);
  const levels: number[] = [];
  for (let i = 0; i + frame <= samples.length; i += frame) {
    let e = 0;
    for (let j = i; j < i + frame; j++) e += (samples[j] as number) ** 2;
    levels.push(Math.sqrt(e / frame));
  }
  const peak = Math.max(0, ...levels);
  const loud = levels.filter((l) => l > peak / 10).length;
  // The loudest one-second window.
  const win = Math.min(rate, samples.length);
  let best = 0;
  let bestE = -1;
  for (let i = 0; i + 50 <= levels.length; i += 5) {
    const e = levels.slice(i, i + 50).reduce((a, x) => a + x, 0);
    if (e > bestE) {
      bestE = e;
      best = i * frame;
    }
  }
  const seg = samples.subarray(best, best + win);
  let freq = 0;
  let power = -1;
  for (let f = 100; f <= 3500; f++) {
    const k = (2 * Math.PI * f) / rate;
    const c = 2 * Math.cos(k);
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < seg.length; i++) {
      const s0 = (seg[i] as number) + c * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const p = s1 * s1 + s2 * s2 - c * s1 * s2;
    if (p > power) {
      power = p;
      freq = f;
    }
  }
  return { frequency: freq, seconds: (loud * frame) / rate };
}
