/**
 * sipp scenarios checked against the RFC 3261 transaction rules that Kumo's own engine is lenient
 * about and the C++ drachtio-server is not (docs/engine.md, "Leniency"):
 *
 * - the ACK for a non-2xx final response belongs to the INVITE's transaction: same Via branch
 *   and CSeq number as the INVITE (§17.1.1.3);
 * - the ACK for a 2xx is a transaction of its own: a new branch (§13.2.2.4);
 * - a CANCEL has the INVITE's branch (§9.1);
 * - every other request is a new transaction with a new branch, and requests carry the sender's
 *   own Via (never `[last_Via:]`, which copies the far end's view of it with received/rport).
 *
 * sipp numbers every top-level element of a scenario except labels and statistics settings;
 * `[branch]` in message i is `z9hG4bK-<pid>-<call>-i` and `[branch-N]` that of message i-N.
 * `resolveBranchRefs` adds one notation for generated scenarios: `[branch-of:NAME]` is the branch of
 * the latest message sent with `start_txn="NAME"` (it becomes `[branch-N]`).
 */

export interface ScenarioElement {
  readonly tag: string;
  readonly attrs: ReadonlyMap<string, string>;
  /** Text of the element's CDATA (the message of a `<send>`). */
  readonly body: string;
  /** sipp's message index, or -1 for elements that are no messages (labels, settings). */
  readonly index: number;
  /** Labels placed directly before this message. */
  readonly labels: readonly string[];
}

const NOT_MESSAGES = new Set(['CallLengthRepartition', 'ResponseTimeRepartition', 'Global', 'User', 'Reference', 'DefaultMessage', 'label', 'init']);

function skipMarkup(xml: string, i: number, until: string): number {
  const j = xml.indexOf(until, i);
  if (j < 0) throw new Error(`unterminated ${until === ']]>' ? 'CDATA section' : 'comment'}`);
  return j + until.length;
}

function parseAttrs(s: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of s.matchAll(/([\w:-]+)\s*=\s*("([^"]*)"|'([^']*)')/g)) m.set(a[1] as string, a[3] ?? a[4] ?? '');
  return m;
}

/** The top-level elements of `<scenario>`, in order, with sipp's message indexes. */
export function scenarioElements(xml: string): ScenarioElement[] {
  const open = /<scenario\b[^>]*>/.exec(xml);
  if (!open) throw new Error('no <scenario> element');
  let i = open.index + open[0].length;
  const out: ScenarioElement[] = [];
  let index = 0;
  let pendingLabels: string[] = [];
  for (;;) {
    while (i < xml.length && /\s/.test(xml[i] as string)) i++;
    if (xml.startsWith('<!--', i)) {
      i = skipMarkup(xml, i, '-->');
      continue;
    }
    if (xml.startsWith('</scenario', i) || i >= xml.length) break;
    const start = /^<([\w:-]+)((?:\s+[\w:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(xml.slice(i, i + 4000));
    if (!start) throw new Error(`unexpected text at offset ${i}: ${xml.slice(i, i + 40)}`);
    const tag = start[1] as string;
    const attrs = parseAttrs(start[2] ?? '');
    i += start[0].length;
    let body = '';
    if (start[3] !== '/') {
      // Up to the matching close tag, skipping CDATA and comments (a message holds '<' and '>').
      for (;;) {
        if (i >= xml.length) throw new Error(`unterminated <${tag}>`);
        if (xml.startsWith('<![CDATA[', i)) {
          const end = xml.indexOf(']]>', i);
          if (end < 0) throw new Error('unterminated CDATA section');
          body += xml.slice(i + 9, end);
          i = end + 3;
        } else if (xml.startsWith('<!--', i)) i = skipMarkup(xml, i, '-->');
        else if (xml.startsWith(`</${tag}`, i)) {
          i = xml.indexOf('>', i) + 1;
          break;
        } else i++;
      }
    }
    if (tag === 'label') {
      pendingLabels.push(attrs.get('id') ?? '');
      out.push({ tag, attrs, body, index: -1, labels: [] });
    } else if (NOT_MESSAGES.has(tag)) out.push({ tag, attrs, body, index: -1, labels: [] });
    else {
      out.push({ tag, attrs, body, index: index++, labels: pendingLabels });
      pendingLabels = [];
    }
  }
  return out;
}

/** Replaces `[branch-of:NAME]` with `[branch-N]` pointing at the latest `start_txn="NAME"` send. */
export function resolveBranchRefs(xml: string): string {
  if (!xml.includes('[branch-of:')) return xml;
  const els = scenarioElements(xml);
  const starts = new Map<string, number>();
  const bySend: { index: number; txn?: string }[] = [];
  for (const e of els) if (e.tag === 'send') bySend.push({ index: e.index, ...(e.attrs.has('start_txn') ? { txn: e.attrs.get('start_txn') as string } : {}) });
  // Rewrite send bodies in document order: the n-th <send> in the text is bySend[n].
  let n = -1;
  return xml.replace(/<send\b[\s\S]*?<\/send>/g, (block) => {
    n++;
    const me = bySend[n];
    if (me === undefined) return block;
    const out = block.replace(/\[branch-of:([\w-]+)\]/g, (_m, name: string) => {
      const at = starts.get(name);
      if (at === undefined) throw new Error(`[branch-of:${name}]: no earlier <send start_txn="${name}">`);
      return `[branch-${me.index - at}]`;
    });
    if (me.txn !== undefined) starts.set(me.txn, me.index);
    return out;
  });
}

interface Sent {
  readonly index: number;
  readonly method: string;
  /** Which branch: a message index (sipp's generated branch), a literal, or `last-via`. */
  readonly branch: string;
  readonly cseq: string;
  readonly txn?: string;
}

function firstLine(body: string): string {
  for (const l of body.split(/\r?\n/)) if (l.trim() !== '') return l.trim();
  return '';
}

function branchOf(body: string, index: number): string {
  const lines = body.split(/\r?\n/).map((l) => l.trim());
  if (lines.some((l) => /^\[last_Via:?\]/i.test(l))) return 'last-via';
  const via = lines.find((l) => /^(Via|v)\s*:/i.test(l));
  const b = via === undefined ? undefined : /;\s*branch=([^;\s,]+)/i.exec(via)?.[1];
  if (b === undefined) return 'none';
  if (b === '[branch]') return `#${index}`;
  const off = /^\[branch([+-])(\d+)\]$/.exec(b);
  if (off) return `#${index + (off[1] === '-' ? -1 : 1) * Number(off[2])}`;
  return `lit:${b}`;
}

/** Problems with a scenario, one line each; empty when it follows the rules above. */
export function lintScenario(xml: string): string[] {
  const problems: string[] = [];
  let els: ScenarioElement[];
  try {
    els = scenarioElements(resolveBranchRefs(xml));
  } catch (err) {
    return [String((err as Error).message)];
  }
  const msgs = els.filter((e) => e.index >= 0);
  const sent: Sent[] = [];
  for (const e of msgs) {
    if (e.tag !== 'send') continue;
    const line = firstLine(e.body);
    if (line.startsWith('SIP/')) continue;
    const method = line.split(/\s+/)[0] ?? '';
    const branch = branchOf(e.body, e.index);
    const cseq = /^\s*CSeq\s*:\s*(\S+)/im.exec(e.body)?.[1] ?? '';
    const where = `message ${e.index} (${method})`;
    const txn = e.attrs.get('start_txn');
    const s: Sent = { index: e.index, method, branch, cseq, ...(txn !== undefined ? { txn } : {}) };
    if (branch === 'last-via') problems.push(`${where}: a request carries its sender's own Via, not [last_Via:] (the far end's copy, with received/rport)`);
    else if (branch === 'none') problems.push(`${where}: no Via branch`);
    else if (branch.startsWith('lit:') && !branch.startsWith('lit:z9hG4bK')) problems.push(`${where}: branch lacks the RFC 3261 magic cookie z9hG4bK`);
    if (method === 'ACK' || method === 'CANCEL') {
      const ackTxn = e.attrs.get('ack_txn');
      const invite = [...sent].reverse().find((p) => p.method === 'INVITE' && (method === 'CANCEL' || ackTxn === undefined || p.txn === ackTxn));
      if (!invite) {
        // A stray CANCEL or ACK (no INVITE in this scenario) tests the far end's answer to it.
      } else if (method === 'CANCEL') {
        if (branch !== invite.branch) problems.push(`${where}: a CANCEL has the branch of the INVITE it cancels (message ${invite.index}); use [branch-${e.index - invite.index}]`);
      } else {
        const codes = ackedCodes(els, msgs, e, invite.index);
        const non2xx = codes.filter((c) => c >= 300);
        const ok2xx = codes.filter((c) => c >= 200 && c < 300);
        if (non2xx.length > 0 && ok2xx.length > 0) problems.push(`${where}: acknowledges both 2xx and non-2xx responses; give each its own ACK`);
        else if (non2xx.length > 0) {
          if (branch !== invite.branch) {
            problems.push(
              `${where}: the ACK for a non-2xx response (${non2xx.join('/')}) has the INVITE's branch (message ${invite.index}); use [branch-${e.index - invite.index}] or [branch-of:NAME]`,
            );
          }
          if (cseq !== invite.cseq) problems.push(`${where}: the ACK for a non-2xx response has the INVITE's CSeq number (${invite.cseq})`);
        } else if (ok2xx.length > 0 && branch === invite.branch) {
          problems.push(`${where}: the ACK for a 2xx is a new transaction and needs a new branch`);
        }
      }
    } else {
      const reused = sent.find((p) => p.branch === branch && !branch.startsWith('last-via') && !(p.method === method && p.cseq === cseq));
      if (reused) problems.push(`${where}: a new request reuses the branch of message ${reused.index} (${reused.method})`);
    }
    sent.push(s);
  }
  return problems;
}

/** The final response codes an ACK can follow: the recvs before it since the INVITE that fall through to it, and recvs jumping to its labels. */
function ackedCodes(els: readonly ScenarioElement[], msgs: readonly ScenarioElement[], ack: ScenarioElement, inviteIndex: number): number[] {
  const codes: number[] = [];
  const code = (e: ScenarioElement): number | undefined => {
    const r = e.attrs.get('response');
    return e.tag === 'recv' && r !== undefined && Number(r) >= 200 ? Number(r) : undefined;
  };
  for (let k = ack.index - 1; k > inviteIndex; k--) {
    const m = msgs[k] as ScenarioElement;
    const optional = m.attrs.get('optional') === 'true';
    // An element with `next` jumps away (an optional one when it matches): it reaches the ACK only through its labels (below).
    if (m.attrs.has('next')) {
      if (!optional) break;
      continue;
    }
    const c = code(m);
    if (c !== undefined) {
      codes.push(c);
      // Optional responses before it may also lead here; a mandatory one is the one acknowledged.
      if (!optional) break;
    }
    if (m.tag === 'send') break;
  }
  for (const l of ack.labels) {
    for (const e of els) {
      const c = code(e);
      if (c !== undefined && e.attrs.get('next') === l) codes.push(c);
    }
  }
  return codes;
}
