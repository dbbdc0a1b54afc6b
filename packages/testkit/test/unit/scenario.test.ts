import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lintScenario, resolveBranchRefs } from '@kumo/testkit';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

const req = (first: string, branch: string, cseq: string, extra = ''): string =>
  `<![CDATA[\n${first}\nVia: SIP/2.0/[transport] [local_ip]:[local_port];branch=${branch}\nCSeq: ${cseq}\n${extra}Content-Length: 0\n\n]]>`;
const invite = (txn = ''): string => `<send${txn ? ` start_txn="${txn}"` : ''}>${req('INVITE sip:x@h SIP/2.0', '[branch]', '1 INVITE')}</send>`;
const ack = (branch: string, cseq = '1 ACK', attrs = ''): string => `<send${attrs}>${req('ACK sip:x@h SIP/2.0', branch, cseq)}</send>`;
const sc = (...parts: string[]): string => `<?xml version="1.0"?>\n<scenario name="t">\n${parts.join('\n')}\n</scenario>\n`;

describe('lintScenario: the RFC 3261 transaction rules Kumo’s engine is lenient about', () => {
  it.each([
    ['ACK for 407 on the INVITE’s branch', sc(invite(), '<recv response="100" optional="true"/>', '<recv response="407"/>', ack('[branch-3]')), []],
    ['ACK for 486 through [branch-of:]', sc(invite('inv'), '<recv response="486"/>', ack('[branch-of:inv]', '1 ACK', ' ack_txn="inv"')), []],
    ['ACK for 2xx on a new branch', sc(invite(), '<recv response="200"/>', ack('[branch]')), []],
    ['ACK for 404 on a new branch', sc(invite(), '<recv response="404"/>', ack('[branch]')), ['non-2xx response (404) has the INVITE']],
    ['ACK for 2xx on the INVITE’s branch', sc(invite(), '<recv response="200"/>', ack('[branch-2]')), ['needs a new branch']],
    ['ACK for 487 with another CSeq', sc(invite(), '<recv response="487"/>', ack('[branch-2]', '2 ACK')), ['CSeq number']],
    ['CANCEL with [last_Via:]', sc(invite(), '<recv response="180"/>', `<send><![CDATA[\nCANCEL sip:x@h SIP/2.0\n[last_Via:]\nCSeq: 1 CANCEL\n\n]]></send>`), ['[last_Via:]', 'CANCEL has the branch']],
    ['CANCEL on the INVITE’s branch', sc(invite(), '<recv response="180"/>', `<send>${req('CANCEL sip:x@h SIP/2.0', '[branch-2]', '1 CANCEL')}</send>`), []],
    ['a BYE reusing the INVITE’s branch', sc(invite(), '<recv response="200"/>', ack('[branch]'), `<send>${req('BYE sip:x@h SIP/2.0', '[branch-3]', '2 BYE')}</send>`), ['reuses the branch']],
    [
      'a refusal’s ACK behind a jump past it',
      sc(invite('inv'), '<recv response="503" optional="true" next="r"/>', '<recv response="200"/>', ack('[branch]'), '<nop next="d"/>', '<label id="r"/>', ack('[branch-of:inv]', '1 ACK', ' ack_txn="inv"'), '<label id="d"/>'),
      [],
    ],
    ['a refusal’s ACK on a new branch', sc(invite('inv'), '<recv response="503" optional="true" next="r"/>', '<recv response="200"/>', ack('[branch]'), '<nop next="d"/>', '<label id="r"/>', ack('[branch]'), '<label id="d"/>'), ['non-2xx response (503) has the INVITE']],
    ['labels and pauses count like sipp counts them', sc(invite(), '<pause milliseconds="10"/>', '<label id="1"/>', '<recv response="603"/>', ack('[branch-3]')), []],
  ])('%s', (_name, xml, expected) => {
    const problems = lintScenario(xml);
    expect(problems).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(problems[i]).toContain(e));
  });

  it('[branch-of:NAME] becomes sipp’s [branch-N]', () => {
    expect(resolveBranchRefs(sc(invite('a'), '<recv response="100" optional="true"/>', '<recv response="407"/>', ack('[branch-of:a]')))).toContain('branch=[branch-3]');
  });

  it('every sipp scenario file in the repository is RFC-correct', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const n of readdirSync(dir)) {
        if (n === 'node_modules' || n === 'dist' || n.startsWith('.')) continue;
        const p = join(dir, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (n.endsWith('.xml') && readFileSync(p, 'utf8').includes('<scenario')) files.push(p);
      }
    };
    for (const d of ['packages', 'loadtest']) walk(join(root, d));
    expect(files.length).toBeGreaterThan(20);
    const bad = files.map((f) => [relative(root, f), lintScenario(readFileSync(f, 'utf8'))] as const).filter(([, p]) => p.length > 0);
    expect(bad).toEqual([]);
  });
});
