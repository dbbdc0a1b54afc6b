/**
 * JSON Merge Patch (RFC 7396): the one update model of every PATCH in the provisioning API.
 * Objects merge member by member (recursively), `null` removes a member, anything else
 * (strings, numbers, arrays) replaces it whole. So `{"forwarding":{"busy":"1002"}}` changes
 * busy forwarding and keeps the other kinds; `{"forwarding":{"noAnswer":null}}` clears one
 * kind; `{"forwarding":null}` clears them all; a `members` array replaces the list.
 */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [k: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergePatch<T>(target: T, patch: unknown): T {
  if (!isObject(patch)) return patch as T;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out as T;
}
