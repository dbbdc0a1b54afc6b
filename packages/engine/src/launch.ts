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

/**
 * The node flags the engine process is started with (docs/engine.md, "GC slack"): the one place they are written.
 * `kumo up` puts them before the script when it starts the engine child; the systemd unit, the Compose files and the
 * Kubernetes manifest carry the same flags (a unit test compares them with this); the benchmarks use them too.
 *
 * Why: a transaction lives 32 s after its final response (timers J, L and M), so under steady load the engine's old
 * generation is mostly transactions waiting out their timers, promoted and dying at the same rate. After each full
 * collection V8 sets the next one's trigger at a small multiple of what survived, and for the 60–120 MB the engine
 * holds at 400 calls/s that meant a full mark every 6–7 s; its concurrent marking takes both cores of a small host
 * from the sip workers, and the calls set up meanwhile were most of the INVITE→180 tail (docs/benchmarks.md).
 * `--initial-old-space-size` puts a floor under that trigger (V8 keeps the configured initial size as the smallest
 * limit, as a JVM keeps -Xms): below 512 MB of old generation the engine does not mark at all, above it V8's own rule
 * applies. A floor, not a cap: memory in use is what it was (QuietGc still collects when the load falls; the memory
 * per call and the RSS after a burst are measured after a collection). Node accepts the flag only on its command
 * line, not in NODE_OPTIONS.
 */
export const ENGINE_NODE_ARGS: readonly string[] = Object.freeze(['--initial-old-space-size=512']);

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
