// Runs the Kumo SIP engine alone in this process (as `kumo engine` would) for the registrar storm.
// argv: sipPort controlPort secret. Prints "READY" once listening.
import { startEngine } from '@kumo/engine';
import { silentLogger } from '@kumo/runtime';

const [sipPort, controlPort, secret] = process.argv.slice(2);
const engine = await startEngine({
  listen: [
    { proto: 'udp', host: '127.0.0.1', port: Number(sipPort) },
    { proto: 'tcp', host: '127.0.0.1', port: Number(sipPort) },
  ],
  control: { host: '127.0.0.1', port: Number(controlPort) },
  secret,
  log: silentLogger(),
  maxServerTransactions: 200000,
});
process.stdout.write('READY\n');
process.on('SIGTERM', () => {
  void engine.close().then(() => process.exit(0));
});
