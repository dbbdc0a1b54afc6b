import type { Spec } from './spec.js';
import { commonSpec } from './sections/common.js';
import { admissionSpec } from './sections/admission.js';
import { apiSpec } from './sections/api.js';

/** Every process's settings, by section, in the order the docs show them. Add new sections here. */
export const allSpecs: Readonly<Record<string, Spec>> = {
  common: commonSpec,
  admission: admissionSpec,
  api: apiSpec,
};

/** Markdown tables for docs/configuration.md, generated from the specs themselves. */
export function renderConfigDoc(specs: Readonly<Record<string, Spec>> = allSpecs): string {
  const out: string[] = [];
  for (const [section, spec] of Object.entries(specs)) {
    out.push(`### ${section}`, '', '| variable | default | meaning |', '|---|---|---|');
    for (const s of Object.values(spec)) {
      const def = s.default === undefined ? '(unset)' : `\`${s.default}\``;
      out.push(`| \`${s.env}\` | ${def} | ${s.description.replace(/\|/g, '\\|')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
