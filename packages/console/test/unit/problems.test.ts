/**
 * Every problem message the shared validators can produce has a Japanese translation in the console
 * (web/src/problems.ts). The messages are read from the validators' source, templates filled with
 * sample values, so a new message without a translation fails here rather than showing English in ja.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateDid, validateExtension, validateNumberingPlan, validateRingGroup, validateTenantCreate, validateTrunk } from '@kumo/domain';
// The console's own web code (same package; the rule is about other packages).
// eslint-disable-next-line no-restricted-imports
import { problemJa } from '../../web/src/problems.ts';

const SOURCE = readFileSync(fileURLToPath(new URL('../../../domain/src/provisioning/validate.ts', import.meta.url)), 'utf8');

/** String literals passed as messages: fail(field, '…'), return '…' in problem helpers, and the Checker's templates. */
function sourceMessages(): string[] {
  const out = new Set<string>();
  const fill = (s: string): string => s.replace(/\$\{[^}]+\}/g, '7');
  for (const m of SOURCE.matchAll(/fail\([^,]+,\s*(['"`])((?:(?!\1).)+)\1\)/g)) out.add(fill(m[2]!));
  for (const m of SOURCE.matchAll(/return\s+(['"`])(must [^'"`]+|is [^'"`]+|cannot [^'"`]+)\1;/g)) out.add(fill(m[2]!));
  return [...out];
}

describe('problem messages in Japanese', () => {
  it('finds the messages in the validators’ source', () => {
    expect(sourceMessages().length).toBeGreaterThan(30);
  });

  it('translates every message the validators can produce', () => {
    const missing = sourceMessages().filter((m) => problemJa(m) === undefined);
    expect(missing).toEqual([]);
  });

  it('translates what real bad input produces, keeping the values', () => {
    const msgs: string[] = [];
    const add = (v: { ok: boolean; problems?: readonly { message: string }[] }): void => void (v.ok ? undefined : msgs.push(...(v.problems ?? []).map((p) => p.message)));
    add(validateExtension({ number: '12a', displayName: '', password: 'x' }));
    add(validateRingGroup({ number: '600', name: 'x'.repeat(200), strategy: 'bogus' as 'ring-all', members: [] }));
    add(validateDid({ number: '123', target: { type: 'extension', number: 'x' } }));
    add(validateNumberingPlan({ extensionLength: 9, outsideLinePrefix: '12' }));
    add(validateTenantCreate({ id: 'A', name: '', sipDomain: 'x', ports: 5, trunkChannels: 0, callsPerSecond: 0 }));
    add(validateTrunk({ id: 'T!', name: 'n', gateways: [{ host: 'localhost' }, { host: ' 1.2.3.4' }], channelLimit: 0, callerName: 'fixed' }, { trunkChannels: 2 }));
    expect(msgs.length).toBeGreaterThan(10);
    expect(msgs.filter((m) => problemJa(m) === undefined)).toEqual([]);
    expect(problemJa('must be at most 100 characters')).toBe('100 文字以内で入力してください');
    expect(problemJa('must be an integer between 2 and 8')).toBe('2〜8 の整数で入力してください');
    expect(problemJa("must have required property 'title'")).toBe('必須項目 title がありません');
  });
});
