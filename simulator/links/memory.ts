// An in-memory duplex link: two ends, bytes written to one arrive at the other after `delayMs` on the
// clock (0 = after the current event). Delivery goes through the clock so that, in virtual time, a
// device and a test gateway never call into each other re-entrantly and runs stay deterministic.
import type { Clock } from "../clock.ts";
import { DataListeners, type LinkEnd } from "./link.ts";

export interface MemoryLinkOptions {
  /** one-way delay in ms (true time) */
  delayMs?: number;
  /** bytes per second; 0 = unlimited. Models a UART: a frame takes its length / rate to arrive. */
  bytesPerSecond?: number;
}

export function createMemoryLinkPair(clock: Clock, opts: MemoryLinkOptions = {}): [LinkEnd, LinkEnd] {
  const delay = opts.delayMs ?? 0;
  const rate = opts.bytesPerSecond ?? 0;
  const a = new DataListeners();
  const b = new DataListeners();
  let closed = false;
  // per direction: when the wire is free again (serialisation at `rate`)
  const busyUntil = [0, 0];
  const send = (to: DataListeners, dir: 0 | 1, bytes: Uint8Array): void => {
    if (closed || !bytes.length) return;
    const copy = bytes.slice();
    let at = clock.now() + delay;
    if (rate > 0) {
      const start = Math.max(clock.now(), busyUntil[dir]);
      busyUntil[dir] = start + (copy.length * 1000) / rate;
      at = busyUntil[dir] + delay;
    }
    clock.schedule(at - clock.now(), () => {
      if (!closed) to.emit(copy);
    });
  };
  const end = (mine: DataListeners, other: DataListeners, dir: 0 | 1): LinkEnd => ({
    write: (bytes) => send(other, dir, bytes),
    onData: (cb) => mine.add(cb),
    close: () => {
      closed = true;
    },
  });
  return [end(a, b, 0), end(b, a, 1)];
}
