// Seeded pseudo-random numbers (mulberry32) for everything random in the simulator: E.hwRand, timer
// jitter, link faults. The same seed gives the same run, so a failing run can be replayed exactly.

export interface Prng {
  /** float in [0, 1) */
  next(): number;
  /** unsigned 32-bit integer */
  u32(): number;
  /** integer in [min, max] */
  int(min: number, max: number): number;
  /** true with probability p */
  chance(p: number): boolean;
  /** an independent generator derived from this one and a label (so adding a consumer does not shift others) */
  fork(label: string): Prng;
}

/** 32-bit FNV-1a of a string, to turn labels and string seeds into numbers. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function createPrng(seed: number | string): Prng {
  const start = typeof seed === "string" ? hash32(seed) : seed >>> 0;
  let a = start;
  const u32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => u32() / 4294967296;
  return {
    next,
    u32,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => p > 0 && next() < p,
    fork: (label) => createPrng((start ^ hash32(label)) >>> 0),
  };
}
