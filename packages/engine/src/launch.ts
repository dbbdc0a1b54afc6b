import { readFileSync } from 'node:fs';

/**
 * The environment the engine process is started with (docs/engine.md, "Memory after a burst"): the one place the
 * allocator settings are written. `kumo up` adds it to the engine child's environment, the engine benchmark does the
 * same, and the systemd unit, the Compose files and the Kubernetes manifest carry the same lines (a unit test
 * compares them with this).
 *
 * Why: Node allocates a 64 KiB buffer for every UDP datagram and every TCP read and copies the bytes into one of
 * their size; under a burst glibc's malloc interleaves those with the buffers that live on (a transaction's
 * response bytes, the 8 KiB Buffer pool slabs), its heap grows, and free() never gives the free pages in the middle of
 * it back (only malloc_trim() would): a minute after a 20,000-call burst the engine held ~250 MB of free malloc memory
 * with a JS heap of 11 MB. jemalloc returns freed pages to the kernel after `dirty_decay_ms`, from a background
 * thread, whether or not the engine is busy; `tcache_max:65536` lets its thread cache keep the 64 KiB read buffers
 * (its default stops at 32 KiB, and sending each through the arena cost ~6 % of the engine's CPU). Where
 * libjemalloc2 is not installed the loader prints one line and the engine runs on glibc as before.
 */
export const ENGINE_PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({
  LD_PRELOAD: 'libjemalloc.so.2',
  MALLOC_CONF: 'background_thread:true,dirty_decay_ms:5000,muzzy_decay_ms:0,tcache_max:65536',
});

/** `env` with ENGINE_PROCESS_ENV added; a variable the operator set keeps the operator's value. */
export function engineProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [k, v] of Object.entries(ENGINE_PROCESS_ENV)) if (out[k] === undefined || out[k] === '') out[k] = v;
  return out;
}

/** The malloc this process runs on, from its mapped libraries (Linux): 'jemalloc', 'glibc', or 'unknown'. */
export function mallocInUse(): 'jemalloc' | 'glibc' | 'unknown' {
  try {
    const maps = readFileSync('/proc/self/maps', 'utf8');
    if (maps.includes('libjemalloc')) return 'jemalloc';
    return maps.includes('libc.so') || maps.includes('libc-') ? 'glibc' : 'unknown';
  } catch {
    return 'unknown';
  }
}
