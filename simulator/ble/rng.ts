// Seeded PRNG for BLE fault injection (mulberry32): the same seed gives the same drops, corruptions and
// disconnects, so a failing run can be replayed. Kept local so the BLE fakes do not depend on clock internals.

export type Rng = () => number;

/** Returns a function yielding floats in [0, 1), deterministic for `seed`. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
