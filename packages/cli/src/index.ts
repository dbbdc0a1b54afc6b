import { renderConfigDoc } from '@kumo/config';
import { PROCESS_NAMES, PROCESSES, type ProcessName } from './processes.js';
import { runOne } from './run-one.js';
import { up } from './up.js';
import { operatorKey } from './operator-key.js';
import { branch } from './branch.js';

const USAGE = `usage: kumo <command>

  up [--demo]        run everything on this machine (local redis-server unless KUMO_REDIS_URL is set)
  engine             run the SIP engine alone
  sip                run the SIP application (registrar, call control) alone
  api                run the provisioning API alone
  billing            run the billing worker alone
  branch             run a survivable branch server for one site (docs/branch.md)
  config-doc         print the configuration reference (Markdown)
  operator-key NAME  issue an operator API key (production bootstrap; needs KUMO_REDIS_URL)

Configuration comes from KUMO_* environment variables; see docs/configuration.md.
`;

function isProcessName(s: string): s is ProcessName {
  return (PROCESS_NAMES as readonly string[]).includes(s);
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (cmd === 'up') {
    const unknown = rest.filter((a) => a !== '--demo');
    if (unknown.length > 0) {
      process.stderr.write(`kumo up: unknown option ${unknown.join(' ')}\n${USAGE}`);
      return 2;
    }
    return up(process.env, { demo: rest.includes('--demo') });
  }
  if (cmd === 'branch') return branch(process.env);
  if (cmd === 'operator-key') return operatorKey(process.env, rest);
  if (cmd === 'config-doc') {
    process.stdout.write(renderConfigDoc());
    return 0;
  }
  if (isProcessName(cmd)) {
    const entry = PROCESSES[cmd];
    if (!entry) {
      process.stderr.write(`kumo ${cmd}: not part of this build\n`);
      return 2;
    }
    return runOne(cmd, entry, process.env);
  }
  process.stderr.write(`kumo: unknown command ${cmd}\n${USAGE}`);
  return 2;
}
