import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface OpsServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  /** Returns true when the process can serve (e.g. Redis reachable). */
  readonly ready?: () => Promise<boolean>;
}

/**
 * A tiny HTTP server for processes that have no API of their own (engine, sip, billing):
 * `/metrics`, `/healthz`, `/readyz`.
 */
export async function startOpsServer(o: OpsServerOptions): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      o.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': o.registry.contentType });
          res.end(body);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    } else if (path === '/readyz') {
      (o.ready ? o.ready() : Promise.resolve(true)).then(
        (ok) => {
          res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: ok ? 'ready' : 'not-ready' }));
        },
        () => {
          res.writeHead(503);
          res.end('{"status":"not-ready"}');
        },
      );
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  let closed: Promise<void> | undefined;
  return {
    server,
    port,
    close: () => (closed ??= new Promise<void>((r) => server.close(() => r()))),
  };
}
