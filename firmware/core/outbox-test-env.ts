// Node unit tests of the flash outbox: a fresh outbox module over the fake hardware layer per "boot"
// (module state is the device's RAM: reloading it is a reboot; the fake flash survives).
import { vi } from "vitest";
import { fakeFlash } from "../hal/fake.ts";

/** The board constants outbox.ts reads at load (a build defines them; here a global stands in). */
(globalThis as any).BOARD = { defaults: { outbox_max: 8 }, memory: { storage_bytes: 65536, bundle_budget: 32768 } };

export type OutboxModule = typeof import("./outbox.ts");

/** Boots: RAM gone (a fresh module), flash kept; loads the outbox with max records and compaction size. */
export async function bootOutbox(max = 8, compactBytes = 4096): Promise<OutboxModule> {
  fakeFlash.powerCut = false;
  fakeFlash.tearAt = -1;
  vi.resetModules();
  const ob = await import("./outbox.ts");
  ob.obLoad(max, compactBytes);
  return ob;
}

/** A record body for seq-independent tests: bytes [tag, 1, 2, 3]. */
export function body(tag: number): Uint8Array {
  return new Uint8Array([tag & 255, 1, 2, 3]);
}

/** Adds a record; a power cut mid-write surfaces as an exception from the fake flash: returns -1. */
export function add(ob: OutboxModule, cls: number, tag = 0): number {
  try {
    return ob.obAdd(cls, 77, 1795000000, body(tag), 0, 4);
  } catch (e) {
    if (fakeFlash.powerCut) return -1;
    throw e;
  }
}
