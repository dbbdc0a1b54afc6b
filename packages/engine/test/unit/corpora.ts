import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** packages/engine/test/unit → repository root. */
const repoRoot = resolve(here, '../../../..');

/**
 * The shared torture corpora: `<repoRoot>/../shared/corpora` (CI clones the repo with shared/ beside it); a git
 * worktree one level deeper (`wt/<name>`) finds it at `<repoRoot>/../../shared/corpora`.
 */
export function corporaDir(): string {
  const candidates = [join(repoRoot, '..', 'shared', 'corpora'), join(repoRoot, '..', '..', 'shared', 'corpora')];
  for (const c of candidates) if (existsSync(join(c, 'rfc4475'))) return c;
  throw new Error(`SIP torture corpora not found; looked in: ${candidates.join(', ')}`);
}

export interface CorpusFile {
  set: 'rfc4475' | 'rfc5118';
  /** File name without `.dat`. */
  name: string;
  data: Buffer;
}

export function loadCorpora(): CorpusFile[] {
  const dir = corporaDir();
  const out: CorpusFile[] = [];
  for (const set of ['rfc4475', 'rfc5118'] as const) {
    for (const f of readdirSync(join(dir, set)).sort()) {
      out.push({ set, name: f.replace(/\.dat$/, ''), data: readFileSync(join(dir, set, f)) });
    }
  }
  return out;
}
