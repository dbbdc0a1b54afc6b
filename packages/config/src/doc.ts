import type { Spec } from './spec.js';
import { commonSpec } from './sections/common.js';
import { upSpec } from './sections/up.js';
import { engineSpec } from './sections/engine.js';
import { sipSpec } from './sections/sip.js';
import { routingSpec } from './sections/routing.js';
import { admissionSpec } from './sections/admission.js';
import { apiSpec } from './sections/api.js';
import { billingSpec, cdrStreamSpec } from './sections/billing.js';
import { opsSpec } from './sections/ops.js';
import { branchCloudSpec, branchSpec } from './sections/branch.js';

/** Every process's settings, by section, in the order the docs show them. Add new sections here. */
export const allSpecs: Readonly<Record<string, Spec>> = {
  common: commonSpec,
  up: upSpec,
  engine: engineSpec,
  sip: sipSpec,
  routing: routingSpec,
  admission: admissionSpec,
  api: apiSpec,
  cdr: cdrStreamSpec,
  billing: billingSpec,
  ops: opsSpec,
  branchCloud: branchCloudSpec,
  branch: branchSpec,
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
