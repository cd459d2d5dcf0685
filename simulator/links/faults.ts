// Fault injection on a link end: corrupt bytes, drop chunks or bytes, delay (order kept, like a wire),
// duplicate chunks, split chunks into pieces, disconnect/reconnect. Applies to both directions of the wrapped end. Every random
// choice comes from a seeded PRNG, so a failing run replays exactly.
import type { Clock } from "../clock.ts";
import type { Prng } from "../prng.ts";
import { DataListeners, type LinkEnd } from "./link.ts";

export interface FaultOptions {
  /** probability per byte that one random bit flips */
  corruptByte?: number;
  /** probability per chunk (one write) that it vanishes */
  dropChunk?: number;
  /** probability per byte that it vanishes */
  dropByte?: number;
  /** probability per chunk that it arrives twice */
  duplicateChunk?: number;
  /** extra delay per chunk, ms: a fixed number or [min, max] drawn per chunk; order is kept */
  delayMs?: number | [number, number];
  /** probability per chunk that it arrives split in random pieces (as UART reads do) */
  splitChunk?: number;
}

export interface FaultStats {
  chunks: number;
  corruptedBytes: number;
  droppedChunks: number;
  droppedBytes: number;
  duplicatedChunks: number;
  splitChunks: number;
  /** chunks lost because the link was disconnected */
  lostDisconnected: number;
}

export class FaultyLink implements LinkEnd {
  private opts: FaultOptions;
  private readonly rng: Prng;
  private readonly incoming = new DataListeners();
  private readonly unsub: () => void;
  private lastAt = [0, 0];
  private up = true;
  readonly stats: FaultStats = { chunks: 0, corruptedBytes: 0, droppedChunks: 0, droppedBytes: 0, duplicatedChunks: 0, splitChunks: 0, lostDisconnected: 0 };

  constructor(
    private readonly inner: LinkEnd,
    private readonly clock: Clock,
    opts: FaultOptions = {},
    seed = "faults",
  ) {
    this.opts = { ...opts };
    this.rng = clock.rng.fork(seed);
    this.unsub = inner.onData((b) => this.pass(b, 1, (x) => this.incoming.emit(x)));
  }

  /** change fault settings while running (e.g. a burst of corruption) */
  set(opts: FaultOptions): void {
    this.opts = { ...opts };
  }

  get connected(): boolean {
    return this.up;
  }

  /** from now on nothing passes in either direction */
  disconnect(): void {
    this.up = false;
  }

  reconnect(): void {
    this.up = true;
  }

  write(bytes: Uint8Array): void {
    this.pass(bytes, 0, (x) => this.inner.write(x));
  }

  onData(cb: (bytes: Uint8Array) => void): () => void {
    return this.incoming.add(cb);
  }

  close(): void {
    this.unsub();
    this.inner.close();
  }

  private pass(bytes: Uint8Array, dir: 0 | 1, out: (b: Uint8Array) => void): void {
    const o = this.opts;
    this.stats.chunks++;
    if (!this.up) {
      this.stats.lostDisconnected++;
      return;
    }
    if (this.rng.chance(o.dropChunk ?? 0)) {
      this.stats.droppedChunks++;
      return;
    }
    let data = bytes.slice();
    if (o.dropByte) {
      const kept: number[] = [];
      for (const b of data) {
        if (this.rng.chance(o.dropByte)) this.stats.droppedBytes++;
        else kept.push(b);
      }
      data = Uint8Array.from(kept);
    }
    if (o.corruptByte) {
      for (let i = 0; i < data.length; i++) {
        if (this.rng.chance(o.corruptByte)) {
          data[i] ^= 1 << this.rng.int(0, 7);
          this.stats.corruptedBytes++;
        }
      }
    }
    if (!data.length) return;
    let pieces = [data];
    if (data.length > 1 && this.rng.chance(o.splitChunk ?? 0)) {
      pieces = [];
      let at = 0;
      while (at < data.length) {
        const n = this.rng.int(1, data.length - at);
        pieces.push(data.subarray(at, at + n));
        at += n;
      }
      this.stats.splitChunks++;
    }
    const copies = this.rng.chance(o.duplicateChunk ?? 0) ? 2 : 1;
    if (copies === 2) this.stats.duplicatedChunks++;
    const d = o.delayMs === undefined ? 0 : typeof o.delayMs === "number" ? o.delayMs : o.delayMs[0] + this.rng.next() * (o.delayMs[1] - o.delayMs[0]);
    for (let c = 0; c < copies; c++) {
      if (d <= 0 && this.lastAt[dir] <= this.clock.now()) {
        for (const p of pieces) out(p);
        continue;
      }
      const at = Math.max(this.clock.now() + d, this.lastAt[dir]);
      this.lastAt[dir] = at;
      for (const chunk of pieces) {
        this.clock.schedule(at - this.clock.now(), () => {
          if (this.up) out(chunk);
          else this.stats.lostDisconnected++;
        });
      }
    }
  }
}
