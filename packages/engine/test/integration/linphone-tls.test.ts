/* eslint-disable @typescript-eslint/no-explicit-any -- drachtio-srf ships no usable types */
/**
 * A real softphone over TLS: linphonec registers through the engine's TLS listener (a self-signed certificate made by
 * the test, as `kumo up --demo` makes one) and calls; an unmodified drachtio-srf app answers both and sees the transport
 * as tls. (Debian's sipp is built without OpenSSL, so `sipp -t l1` cannot be used; `tls.test.ts` drives a Node TLS
 * client message by message.) Skips with a message when linphonec or openssl is missing.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@kumo/testkit';
import { silentLogger } from '@kumo/runtime';
import { startEngine, type EngineHandle } from '../../src/index.js';
import { ANSWER_SDP, connectSrf, disconnectSrf } from '../apps/srf-apps.js';
import { waitFor } from './harness.js';

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = ['linphonec', 'openssl', 'stdbuf'].filter((c) => !have(c));
if (missing.length > 0) console.warn(`linphone-tls.test: skipped, not installed: ${missing.join(', ')} (bash packages/cli/scripts/ensure-deps.sh)`);

describe.skipIf(missing.length > 0)('linphonec over TLS through the engine', () => {
  let dir: string;
  let engine: EngineHandle;
  let srf: any;
  let phone: ChildProcess;
  let output = '';
  const seen: { method: string; protocol: string; contact: string }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kumo-linphone-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    engine = await startEngine({
      listen: [{ proto: 'tls', host: '127.0.0.1', port: await freePort() }],
      control: { host: '127.0.0.1', port: 0 },
      secret: 'cymru',
      log: silentLogger(),
      tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')), verify: false },
    });
    srf = await connectSrf(engine.control.port);
    srf.register((req: any, res: any) => {
      seen.push({ method: 'REGISTER', protocol: String(req.protocol), contact: String(req.get('Contact')) });
      res.send(200, { headers: { Contact: req.get('Contact'), Expires: '300' } });
    });
    srf.invite((req: any, res: any) => {
      seen.push({ method: 'INVITE', protocol: String(req.protocol), contact: String(req.get('Contact')) });
      srf.createUAS(req, res, { localSdp: ANSWER_SDP }).then(
        (dlg: any) => {
          dlg.on('destroy', () => seen.push({ method: 'BYE', protocol: String(req.protocol), contact: '' }));
        },
        () => undefined,
      );
    });
    await waitFor(() => engine.stats().apps === 1);

    const home = join(dir, 'home');
    // liblinphone does not start its core when it cannot create its database
    mkdirSync(join(home, '.local', 'share', 'linphone'), { recursive: true });
    const rtp = await freePort();
    writeFileSync(
      join(dir, 'linphonerc'),
      [
        '[sip]',
        'sip_port=-1',
        'sip_tcp_port=-1',
        `sip_tls_port=${await freePort()}`,
        'bind_address=127.0.0.1',
        // the test's self-signed certificate is the only trusted root: the chain is verified. The name check is off:
        // linphone's TLS stack (belle-sip/mbedtls) failed to match the certificate to the IP literal 127.0.0.1 here.
        `root_ca=${join(dir, 'cert.pem')}`,
        'verify_server_certs=1',
        'verify_server_cn=0',
        '[rtp]',
        `audio_rtp_port=${rtp}-${rtp + 10}`,
        '[net]',
        'ipv6=0',
        '[video]',
        'enabled=0',
        '',
      ].join('\n'),
    );
    phone = spawn('stdbuf', ['-oL', '-eL', 'linphonec', '-c', join(dir, 'linphonerc')], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HOME: home } });
    phone.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    phone.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    phone.stdin?.write('soundcard use files\n');
  }, 30_000);

  afterAll(async () => {
    if (phone && phone.exitCode === null) {
      phone.stdin?.write('quit\n');
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          phone.kill('SIGKILL');
          r();
        }, 3000);
        phone.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    if (srf) disconnectSrf(srf);
    if (engine) await engine.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('registers and calls over TLS (certificate chain verified against the test\'s own), the app sees tls, BYE ends the dialog', async () => {
    const port = engine.sip[0]!.port;
    phone.stdin?.write(`register sip:alice@127.0.0.1 sip:127.0.0.1:${port};transport=tls secret\n`);
    await waitFor(() => seen.some((s) => s.method === 'REGISTER'), 20_000).catch(() => {
      throw new Error(`no REGISTER reached the app\n${output.slice(-3000)}`);
    });
    const reg = seen.find((s) => s.method === 'REGISTER')!;
    expect(reg.protocol).toBe('tls');
    expect(reg.contact).toMatch(/transport=tls/i);
    await waitFor(() => /registration.*(successful|ok)|Registered/i.test(output), 10_000).catch(() => undefined);

    phone.stdin?.write(`call sip:bob@127.0.0.1:${port};transport=tls\n`);
    await waitFor(() => seen.some((s) => s.method === 'INVITE'), 20_000).catch(() => {
      throw new Error(`no INVITE reached the app\n${output.slice(-3000)}`);
    });
    expect(seen.find((s) => s.method === 'INVITE')!.protocol).toBe('tls');
    await waitFor(() => /Call \d+ .*connected|Connected/i.test(output), 15_000).catch(() => {
      throw new Error(`the call did not connect\n${output.slice(-3000)}`);
    });
    await waitFor(() => engine.stats().dialogs === 1, 10_000);
    phone.stdin?.write('terminate\n');
    await waitFor(() => seen.some((s) => s.method === 'BYE'), 10_000);
    await waitFor(() => engine.stats().dialogs === 0, 10_000);
    expect(engine.stats().tcpConnections).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
