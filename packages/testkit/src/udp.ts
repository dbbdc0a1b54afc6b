import { createSocket, type Socket } from 'node:dgram';

/**
 * Binds a UDP socket to `host:port`, retrying while the port is taken (e.g. another test's softphone bound the
 * wildcard address on 5060 for a moment). For tests that must receive on a fixed port because a peer answers to
 * the Via port (RFC 3261 §18.2.2 without rport). Rejects after `timeoutMs`.
 */
export async function bindUdp(port: number, host: string, timeoutMs = 30000): Promise<Socket> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(port, host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      return s;
    } catch (err) {
      s.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
