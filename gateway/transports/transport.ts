// The one interface every device transport implements (serial, TCP, BLE). The gateway core sees only
// Links: byte streams carrying framed data (protocol/framing.ts) to and from ONE device at a time.
//
//   Transport.start(onLink)  begins opening/accepting links; calls onLink for every link that comes up
//                            (again after each reconnect). Never throws for a device that is absent:
//                            it keeps retrying and logs; throws only for a configuration error.
//   Transport.stop()         closes every link and stops retrying; resolves when all are closed.
//
//   Link.name                stable, readable name, e.g. "serial:/dev/ttyUSB0", "tcp:127.0.0.1:4100",
//                            "ble:cc:33:..." — used in logs and metrics.
//   Link.write(bytes)        resolves when the bytes are handed to the OS / radio; rejects when the link
//                            is gone (the session then waits for the next link).
//   Link.post(bytes, onError)  write() for callers that only need to hear of a failure (an ack per event):
//                            no promise per write where the link can hand bytes over at once.
//   Link.close()             idempotent; emits "close" once.
//   "data" (bytes)           any chunking: the session's FrameParser reassembles frames.
//   "close" ()               emitted exactly once, whatever the cause (unplugged, remote closed, close()).
//
// A transport that reconnects (serial unplugged and plugged in again) emits a NEW Link each time.
import { EventEmitter } from "node:events";

export interface Link {
  readonly name: string;
  write(bytes: Uint8Array): Promise<void>;
  post(bytes: Uint8Array, onError: (e: Error) => void): void;
  close(): void;
  on(event: "data", cb: (bytes: Uint8Array) => void): this;
  on(event: "close", cb: () => void): this;
}

export interface Transport {
  readonly name: string;
  start(onLink: (link: Link) => void): Promise<void>;
  stop(): Promise<void>;
}

/** What rawWrite() returns when the bytes were handed over synchronously (post() then makes no promise). */
export const WRITTEN: Promise<void> = Promise.resolve();

/** Helper for implementations: guarantees "close" is emitted once and writes after close reject. */
export abstract class BaseLink extends EventEmitter implements Link {
  closed = false;
  constructor(readonly name: string) {
    super();
  }
  abstract rawWrite(bytes: Uint8Array): Promise<void>;
  abstract rawClose(): void;
  write(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.name}: link is closed`));
    return this.rawWrite(bytes);
  }
  post(bytes: Uint8Array, onError: (e: Error) => void): void {
    if (this.closed) return onError(new Error(`${this.name}: link is closed`));
    const p = this.rawWrite(bytes);
    if (p !== WRITTEN) p.catch(onError);
  }
  close(): void {
    if (this.closed) return;
    this.rawClose();
    this.markClosed();
  }
  /** Called by the implementation when the underlying stream ended. */
  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit("close");
  }
  emitData(bytes: Uint8Array): void {
    if (!this.closed) this.emit("data", bytes);
  }
}
