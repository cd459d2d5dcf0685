// Many simulated devices on one clock, for load and fleet tests: each has its own flash with an
// identity (Storage varde.id) and the same bundle, its own seeded randomness and optionally its own
// clock drift and link. Identities are deterministic for a seed, so a failing fleet run replays.
import { loadBoard, type Board } from "../hardware/boards.ts";
import type { Clock } from "./clock.ts";
import { SimDevice, type UncaughtRecord } from "./device.ts";
import type { GlobalProvider } from "./espruino/runtime.ts";
import type { LinkEnd } from "./links/link.ts";

export interface FleetMember {
  id: number;
  /** 32-byte device key, 64 hex characters */
  key: string;
  device: SimDevice;
}

export interface FleetOptions {
  board: Board | string;
  clock: Clock;
  /** number of devices */
  count: number;
  /** firmware bundle installed as .bootcde on every device */
  bundle: string;
  /** id of the first device; the others follow (default 1) */
  firstId?: number;
  /** the device's data-port link (e.g. one end of createMemoryLinkPair; the other end to a gateway) */
  link?: (id: number) => LinkEnd | undefined;
  /** per-device clock drift in ppm (default: uniform in ±driftSpreadPpm) */
  driftPpm?: (id: number) => number;
  /** spread of the default drift, ppm (default 0) */
  driftSpreadPpm?: number;
  /** extra providers per device (e.g. BLE) */
  providers?: (id: number) => GlobalProvider[];
  /** overrides the generated key (64 hex characters) */
  keyFor?: (id: number) => string;
  memoryRefreshMs?: number;
}

export class SimFleet {
  readonly members: FleetMember[] = [];
  readonly board: Board;

  constructor(readonly opts: FleetOptions) {
    this.board = typeof opts.board === "string" ? loadBoard(opts.board) : opts.board;
    if (!(opts.count >= 1)) throw new Error(`fleet count must be at least 1 (got ${opts.count})`);
    // separate streams so identities do not depend on whether drift is drawn
    const keyRng = opts.clock.rng.fork("fleet-keys");
    const driftRng = opts.clock.rng.fork("fleet-drift");
    const first = opts.firstId ?? 1;
    for (let i = 0; i < opts.count; i++) {
      const id = first + i;
      let key = "";
      for (let b = 0; b < 32; b++) key += keyRng.int(0, 255).toString(16).padStart(2, "0");
      if (opts.keyFor) key = opts.keyFor(id);
      if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`fleet device ${id}: key must be 64 lower-case hex characters`);
      const spread = opts.driftSpreadPpm ?? 0;
      const drift = opts.driftPpm ? opts.driftPpm(id) : spread ? (driftRng.next() * 2 - 1) * spread : 0;
      const device = new SimDevice({
        board: this.board,
        clock: opts.clock,
        name: `${this.board.kind}-${id}`,
        link: opts.link?.(id),
        driftPpm: drift,
        providers: opts.providers?.(id),
        memoryRefreshMs: opts.memoryRefreshMs,
      });
      device.flash.write("varde.id", Buffer.from(JSON.stringify({ id, key, kind: this.board.kind })));
      device.install(opts.bundle);
      this.members.push({ id, key, device });
    }
  }

  get devices(): SimDevice[] {
    return this.members.map((m) => m.device);
  }

  member(id: number): FleetMember {
    const m = this.members.find((x) => x.id === id);
    if (!m) throw new Error(`no device ${id} in this fleet (ids ${this.members[0].id}..${this.members[this.members.length - 1].id})`);
    return m;
  }

  /** Powers every device on, `staggerMs` apart on the clock (0 = all now). */
  powerOnAll(staggerMs = 0): void {
    this.members.forEach((m, i) => {
      if (staggerMs > 0 && i > 0) this.opts.clock.schedule(i * staggerMs, () => m.device.powered || m.device.powerOn());
      else if (!m.device.powered) m.device.powerOn();
    });
  }

  powerOffAll(): void {
    for (const m of this.members) m.device.powerOff();
  }

  /** every uncaught exception in the fleet, with the device id */
  errors(): Array<UncaughtRecord & { id: number }> {
    return this.members.flatMap((m) => m.device.errors.map((e) => ({ ...e, id: m.id })));
  }
}
