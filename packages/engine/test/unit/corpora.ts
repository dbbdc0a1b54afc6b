import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The SIP torture corpora (RFC 4475, RFC 5118), copied into the repository with their MIT licence:
 * `packages/engine/test/corpora` (see its README.md).
 */
export function corporaDir(): string {
  const dir = resolve(here, '../corpora');
  if (!existsSync(join(dir, 'rfc4475'))) throw new Error(`SIP torture corpora not found in ${dir}`);
  return dir;
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
