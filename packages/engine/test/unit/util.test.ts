/**
 * `ownedCopy` (util.ts): bytes kept for a dialog's life must not be a view of Node's shared pool slab, which would
 * keep the whole 8 KiB slab alive per call (the engine bench's memory per active call shows it).
 */
import { describe, expect, it } from 'vitest';
import { ownedCopy } from '../../src/util.js';

describe('ownedCopy', () => {
  it('copies a pooled Buffer into memory of its own, same bytes', () => {
    const pooled = Buffer.from('ACK sip:1002@127.0.0.1:5062 SIP/2.0\r\n\r\n', 'utf8');
    // Small Buffers from strings are views of the shared pool.
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
    const kept = ownedCopy(pooled);
    expect(kept.equals(pooled)).toBe(true);
    expect(kept.byteOffset).toBe(0);
    expect(kept.buffer.byteLength).toBe(kept.length);
    expect(kept.buffer).not.toBe(pooled.buffer);
  });
});
