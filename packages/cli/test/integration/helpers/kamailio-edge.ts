/**
 * infra/kamailio/kamailio.cfg on loopback in front of two Kumo engine + sip stacks sharing one
 * redis-server (docs/scaling.md): the set-up the Kamailio edge tests share (kamailio-edge.test.ts,
 * kamailio-rolling.test.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateExtension } from '@kumo/domain';
import { LocationStore, ProvisioningRepo, SYSTEM_ACTOR, type Binding } from '@kumo/store';
import { freePort, runSipp, startDrachtio, startRedis, type DrachtioHandle, type RedisHandle } from '@kumo/testkit';
import { DOMAIN, KumoProc, TENANT, ready, relStack, waitFor, type RelStack } from './kumo-procs.js';

const CFG = fileURLToPath(new URL('../../../../../infra/kamailio/kamailio.cfg', import.meta.url));
const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
export const KAMAILIO = has('kamailio', ['-v']);
export const SIPP = spawnSync('sipp', ['-v']).error === undefined;

/** The edge gets an address of its own: phones on 127.0.0.1 are not the edge (KUMO_SIP_TRUSTED_EDGES=127.0.0.3). */
export const EDGE_HOST = '127.0.0.3';
export const CALLEE = { user: '2002', domain: DOMAIN, password: 'pass2002x' };

/** An out-of-dialog OPTIONS through the edge (moves the dispatcher's round robin on by one). */
export const OPTIONS_XML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options">
  <send retrans="500"><![CDATA[
OPTIONS sip:${DOMAIN} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
From: <sip:probe@${DOMAIN}>;tag=[pid]O[call_number]
To: <sip:${DOMAIN}>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
`;

/** A counter of a sip process's /metrics, summed over its labels (`filter`: a label text the line must hold). */
export async function counter(ops: string, name: string, filter = ''): Promise<number> {
  const text = await (await fetch(`http://${ops}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) && line.includes(filter)) n += Number(line.split(' ').pop());
  return n;
}

export const registeredOk = (ops: string): Promise<number> => counter(ops, 'kumo_sip_register_total', 'outcome="ok"');

/** One engine (Kumo's or drachtio-server) and its sip process. */
export interface EngineStack {
  /** undefined: the engine is drachtio-server (`drachtio`). */
  engine?: KumoProc;
  drachtio?: DrachtioHandle;
  sip: KumoProc;
  readonly ops: string;
  readonly engineOps: string;
  readonly sipTarget: string;
}

export interface EdgeSetup {
  readonly dir: string;
  readonly st: RelStack;
  readonly stacks: EngineStack[];
  /** host:port of the edge. */
  readonly edge: string;
  /** Kamailio's recent output. */
  log(): string;
  /** Writes a sipp scenario into the test directory. */
  file(name: string, xml: string): { file: string };
  bindingsOf(ext: string): Promise<Binding[]>;
  stop(): Promise<void>;
}

/** Starts redis, two engine + sip stacks (the second on drachtio-server with `drachtioBin`) and the edge; resolves once the edge relays. */
export async function startEdge(o: { drachtioBin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<EdgeSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-edge-'));
  const redisServer: RedisHandle = await startRedis();
  const st = await relStack(redisServer.url, { KUMO_SIP_TRUSTED_EDGES: EDGE_HOST, ...o.env });
  const repo = new ProvisioningRepo(st.redis, st.keys);
  const ext = validateExtension({ number: CALLEE.user, displayName: 'Second desk', password: CALLEE.password, permissionClass: 'mobile' });
  if (!ext.ok) throw new Error(JSON.stringify(ext.problems));
  await repo.createExtension(TENANT, ext.value, SYSTEM_ACTOR);
  const stacks: EngineStack[] = [];
  let kamailio: ChildProcess | undefined;
  let out = '';
  const file = (name: string, xml: string): { file: string } => {
    const f = join(dir, `${name}.xml`);
    writeFileSync(f, xml);
    return { file: f };
  };
  const stop = async (): Promise<void> => {
    if (kamailio?.pid !== undefined) {
      try {
        process.kill(-kamailio.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const s of stacks) {
      await s.sip.kill('SIGKILL');
      await s.engine?.kill('SIGKILL');
      await s.drachtio?.close();
    }
    st.redis.disconnect();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 2; i++) {
      const sipTarget = i === 0 ? st.sipTarget : `127.0.0.1:${await freePort()}`;
      const env: NodeJS.ProcessEnv =
        i === 0
          ? st.env
          : {
              ...st.env,
              KUMO_SIP_LISTEN: `udp/${sipTarget}`,
              KUMO_ENGINE_CONTROL: `127.0.0.1:${await freePort()}`,
              KUMO_ENGINE_OPS_LISTEN: `127.0.0.1:${await freePort()}`,
              KUMO_SIP_OPS_LISTEN: `127.0.0.1:${await freePort()}`,
            };
      // With drachtioBin the second engine is the C++ drachtio-server (docs/deploy-drachtio.md).
      const drachtio = i === 1 && o.drachtioBin ? await startDrachtio({ bin: o.drachtioBin, sipPort: Number(sipTarget.split(':')[1]), secret: env.KUMO_ENGINE_SECRET as string }) : undefined;
      const sipEnv = drachtio ? { ...env, KUMO_ENGINE_CONTROL: `${drachtio.control.host}:${drachtio.control.port}` } : env;
      const s: EngineStack = {
        ...(drachtio ? { drachtio } : { engine: new KumoProc('engine', env) }),
        sip: new KumoProc('sip', sipEnv),
        ops: env.KUMO_SIP_OPS_LISTEN as string,
        engineOps: env.KUMO_ENGINE_OPS_LISTEN as string,
        sipTarget,
      };
      s.engine?.start();
      s.sip.start();
      stacks.push(s);
    }
    await waitFor(async () => (await Promise.all(stacks.flatMap((s) => [s.engine ? ready(s.engineOps) : Promise.resolve(true), ready(s.ops)]))).every(Boolean), 30_000, 'both stacks ready');

    const edge = `${EDGE_HOST}:${await freePort(EDGE_HOST)}`;
    const list = join(dir, 'dispatcher.list');
    writeFileSync(list, stacks.map((s) => `1 sip:${s.sipTarget} 0 0\n`).join(''));
    kamailio = spawn(
      'kamailio',
      ['-f', CFG, '-DD', '-E', '-n', '2', '-Y', dir, '-P', join(dir, 'kamailio.pid'), '-l', `udp:${edge}`, '-A', `DISPATCHER_LIST="${list}"`],
      // Its own process group: kamailio forks workers that outlive a SIGKILLed main process.
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    const add = (d: Buffer): void => {
      out = (out + d.toString()).slice(-100_000);
    };
    kamailio.stdout?.on('data', add);
    kamailio.stderr?.on('data', add);
    // The edge is ready once a request through it reaches an engine and comes back answered.
    await waitFor(async () => (await runSipp({ scenario: file('options', OPTIONS_XML), target: edge, calls: 1, timeoutS: 3 })).ok, 20_000, 'kamailio relays to an engine');
    return { dir, st, stacks, edge, log: () => out, file, bindingsOf: (e) => new LocationStore(st.redis, st.keys).contactsFor(TENANT, e), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
