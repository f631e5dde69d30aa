/**
 * A small in-process TTL cache for values that are cheap to recompute and safe to serve slightly
 * stale (signed headers, verified tokens, API-key look-ups). Bounded: the oldest entry goes first.
 */
export function ttlCache<V>(defaultTtlMs: number, max = 10_000) {
  const entries = new Map<string, { value: V; expires: number }>();
  return {
    get(key: string): V | undefined {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expires <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key: string, value: V, ttlMs = defaultTtlMs): void {
      if (ttlMs <= 0) return;
      if (entries.size >= max) entries.delete(entries.keys().next().value!);
      entries.set(key, { value, expires: Date.now() + ttlMs });
    },
    delete(key: string): void {
      entries.delete(key);
    },
  };
}
