/**
 * The C++ drachtio-server as the SIP engine of a test, in place of Kumo's engine
 * (docs/deploy-drachtio.md). It is built outside the repository (packaged neither in Debian nor
 * in npm), so tests use it only when `KUMO_TEST_DRACHTIO_BIN` names the binary and the test runs
 * in the `drachtio` vitest project (`KUMO_TEST_ENGINE=drachtio`); everywhere else Kumo's engine runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

/** The shipped configuration (infra/drachtio/drachtio.conf.xml); tests fill in their ports and secret. */
const SHIPPED_CONF = fileURLToPath(new URL('../../../infra/drachtio/drachtio.conf.xml', import.meta.url));

/** The drachtio-server binary to test against, or undefined: Kumo's own engine. */
export function externalDrachtio(): string | undefined {
  const bin = process.env.KUMO_TEST_DRACHTIO_BIN;
  return process.env.KUMO_TEST_ENGINE === 'drachtio' && bin !== undefined && bin !== '' ? bin : undefined;
}

export interface DrachtioHandle {
  /** Admin (control) address for drachtio-srf. */
  readonly control: { readonly host: string; readonly port: number };
  readonly secret: string;
  readonly sipPort: number;
  /** stdout + stderr so far (the tail), for failure messages. */
  output(): string;
  close(): Promise<void>;
}

/** The shipped drachtio.conf.xml with this test's admin port, secret, SIP listener and metrics port. */
export function drachtioConfig(o: { host: string; adminPort: number; secret: string; sipPort: number; metricsPort: number; loglevel?: string }): string {
  const xml = readFileSync(SHIPPED_CONF, 'utf8');
  const out = xml
    .replace(/<admin port="\d+" secret="[^"]*">[^<]*<\/admin>/, `<admin port="${o.adminPort}" secret="${o.secret}">${o.host}</admin>`)
    .replace(/<contact>[^<]*<\/contact>/, `<contact>sip:${o.host}:${o.sipPort};transport=udp,tcp</contact>`)
    .replace(/<prometheus port="\d+">[^<]*<\/prometheus>/, `<prometheus port="${o.metricsPort}">${o.host}</prometheus>`)
    .replace(/<loglevel>[^<]*<\/loglevel>/, `<loglevel>${o.loglevel ?? 'notice'}</loglevel>`);
  for (const part of [`port="${o.adminPort}"`, `:${o.sipPort};`, `port="${o.metricsPort}"`]) {
    if (!out.includes(part)) throw new Error(`infra/drachtio/drachtio.conf.xml changed shape: could not set ${part}`);
  }
  return out;
}

async function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Starts drachtio-server on free loopback ports (or `sipPort`) and waits until its admin port accepts connections. */
export async function startDrachtio(o: { bin: string; sipPort?: number; secret?: string; host?: string }): Promise<DrachtioHandle> {
  const host = o.host ?? '127.0.0.1';
  const secret = o.secret ?? 'test-secret';
  const sipPort = o.sipPort ?? (await freePort(host));
  const adminPort = await freePort(host);
  const metricsPort = await freePort(host);
  const dir = mkdtempSync(join(tmpdir(), 'kumo-drachtio-'));
  const conf = join(dir, 'drachtio.conf.xml');
  writeFileSync(conf, drachtioConfig({ host, adminPort, secret, sipPort, metricsPort, ...(process.env.KUMO_TEST_DRACHTIO_LOGLEVEL ? { loglevel: process.env.KUMO_TEST_DRACHTIO_LOGLEVEL } : {}) }));
  const child: ChildProcess = spawn(o.bin, ['-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const add = (d: Buffer): void => {
    out = (out + d.toString()).slice(-200_000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const end = Date.now() + 15_000;
  while (!(await listening(host, adminPort))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > end) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`drachtio-server (${o.bin}) did not start:\n${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    control: { host, port: adminPort },
    secret,
    sipPort,
    output: () => out,
    async close() {
      // KUMO_TEST_DRACHTIO_LOG_DIR keeps each server's log (with KUMO_TEST_DRACHTIO_LOGLEVEL=debug: every message).
      const logDir = process.env.KUMO_TEST_DRACHTIO_LOG_DIR;
      if (logDir) writeFileSync(join(logDir, `drachtio-${sipPort}.log`), out);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
