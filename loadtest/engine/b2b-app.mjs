// An unmodified drachtio-srf B2BUA: every INVITE to sip:<user>@127.0.0.1:<uasPort>.
import { createRequire } from 'node:module';
const require = createRequire(new URL('../../packages/engine/package.json', import.meta.url));
const Srf = require('drachtio-srf');

const [controlPort, uasPort, transport = 'udp'] = process.argv.slice(2);
const tp = transport === 'tcp' ? ';transport=tcp' : '';
const srf = new Srf();
srf.connect({ host: '127.0.0.1', port: Number(controlPort), secret: 'cymru' });
srf.on('error', () => undefined);
let errors = 0;
srf.invite((req, res) => {
  const user = /^sips?:([^@;>]+)@/.exec(req.uri)?.[1] ?? 'service';
  srf.createB2BUA(req, res, `sip:${user}@127.0.0.1:${uasPort}${tp}`, { localSdpB: req.body }).then(
    ({ uas, uac }) => {
      uas.on('destroy', () => uac.destroy().catch(() => undefined));
      uac.on('destroy', () => uas.destroy().catch(() => undefined));
    },
    (err) => {
      errors++;
      if (errors <= 3) console.error('b2b error', err?.status ?? '', err?.message ?? err);
    },
  );
});
srf.on('connect', () => process.send?.({ ready: true }));
process.on('message', (m) => {
  if (m === 'stats') process.send?.({ errors, rss: process.memoryUsage().rss, cpu: process.cpuUsage() });
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
