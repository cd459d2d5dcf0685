// How the seeded power-cut runs are shared between the two scenario test files (two cores).
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const DIR = dirname(fileURLToPath(import.meta.url));
export const POWER_CUT = join(DIR, "power-cut-dispensing.toml");
/** the seeded pass-over cuts run in power-cut.test.ts too (with their own outcome checks) */
export const PASS_OVER = join(DIR, "power-cut-pass-over.toml");
/** power-cut runs [0, SPLIT) in scenarios.test.ts (with the other scenarios), [SPLIT, runs) in power-cut.test.ts */
export const SPLIT = 480;
