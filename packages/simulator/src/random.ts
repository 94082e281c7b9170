/** mulberry32: a tiny seeded PRNG, so `keytrail simulate --seed 7` is the same traffic every time. */
export function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
    hex: (length: number) => Array.from({ length }, () => Math.floor(next() * 16).toString(16)).join(''),
    /** A UUIDv7-shaped id whose time part is `ms`, random part seeded. */
    uuid7: (ms: number) => {
      const time = ms.toString(16).padStart(12, '0');
      const r = Array.from({ length: 20 }, () => Math.floor(next() * 16).toString(16)).join('');
      return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${r.slice(0, 3)}-${((Number.parseInt(r[3]!, 16) & 0x3) | 0x8).toString(16)}${r.slice(4, 7)}-${r.slice(7, 19)}`;
    },
  };
}
export type Random = ReturnType<typeof createRandom>;
