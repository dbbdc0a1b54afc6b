/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- drachtio-srf ships no usable types */
/**
 * Small drachtio-srf apps, unmodified srf from npm, used by the conformance tests. Behaviour of the UAS app
 * is chosen by the Request-URI user (sipp's `-s`): service, hangup, busy, notfound, ring, silent, slow.
 */
import Srf from 'drachtio-srf';

export interface AppCounters {
  invites: number;
  cancels: number;
  acks: number;
  byes: number;
  unsolicited: number;
  registers: number;
  options: number;
  errors: string[];
}

export const ANSWER_SDP = ['v=0', 'o=kumo 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n');

export function newCounters(): AppCounters {
  return { invites: 0, cancels: 0, acks: 0, byes: 0, unsolicited: 0, registers: 0, options: 0, errors: [] };
}

/** Connects a new Srf to the engine and resolves once authenticated. */
export async function connectSrf(port: number, secret = 'cymru'): Promise<any> {
  const srf: any = new Srf();
  await new Promise<void>((resolve, reject) => {
    srf.once('connect', (err: unknown) => (err ? reject(err instanceof Error ? err : new Error('srf connect failed')) : resolve()));
    srf.once('error', reject);
    srf.connect({ host: '127.0.0.1', port, secret, reconnect: { maxAttempts: 1 } });
  });
  srf.on('error', () => undefined);
  return srf;
}

export function disconnectSrf(srf: any): void {
  try {
    srf.disconnect();
  } catch {
    /* already gone */
  }
}

function userOf(req: any): string {
  const m = /^sips?:([^@;>]+)@/.exec(String(req.uri));
  return m ? (m[1] as string) : '';
}

function watchDialog(dlg: any, c: AppCounters): void {
  dlg.on('destroy', (req: any) => {
    c.byes++;
    if (req?.meta?.source === 'application') c.unsolicited++;
  });
  dlg.on('ack', () => c.acks++);
}

/** UAS: INVITE / REGISTER / OPTIONS handlers. */
export function installUas(srf: any, c: AppCounters): void {
  srf.invite((req: any, res: any) => {
    c.invites++;
    const user = userOf(req);
    req.on('cancel', () => c.cancels++);
    const answer = (): void => {
      srf.createUAS(req, res, { localSdp: ANSWER_SDP }).then(
        (dlg: any) => {
          watchDialog(dlg, c);
          if (user === 'hangup') setTimeout(() => void dlg.destroy().catch(() => undefined), 300);
          if (user === 'reinvite') {
            setTimeout(() => {
              dlg.modify('hold').then(
                () => dlg.destroy().catch(() => undefined),
                (err: any) => c.errors.push(`re-INVITE failed: ${String(err?.message ?? err)}`),
              );
            }, 200);
          }
        },
        (err: any) => {
          if (!(err?.status === 487)) c.errors.push(String(err?.message ?? err));
        },
      );
    };
    switch (user) {
      case 'busy':
        return res.send(486);
      case 'notfound':
        return res.send(404);
      case 'ring':
        return res.send(180);
      case 'silent':
        return undefined;
      case 'slow':
        setTimeout(answer, 300);
        return undefined;
      default:
        res.send(180);
        answer();
        return undefined;
    }
  });
  srf.register((req: any, res: any) => {
    c.registers++;
    res.send(200, { headers: { Contact: req.get('Contact'), Expires: '300' } });
  });
  srf.options((_req: any, res: any) => {
    c.options++;
    res.send(200);
  });
}

/** B2BUA: every INVITE goes to `sip:<user>@127.0.0.1:<port>` (transport as given). */
export function installB2b(srf: any, target: (user: string) => string, c: AppCounters): void {
  srf.invite((req: any, res: any) => {
    c.invites++;
    srf.createB2BUA(req, res, target(userOf(req)), { localSdpB: req.body }).then(
      ({ uas, uac }: any) => {
        uas.on('destroy', () => {
          c.byes++;
          uac.destroy().catch(() => undefined);
        });
        uac.on('destroy', () => {
          c.byes++;
          uas.destroy().catch(() => undefined);
        });
      },
      (err: any) => {
        if (!(err?.status >= 300)) c.errors.push(String(err?.message ?? err));
      },
    );
  });
}
