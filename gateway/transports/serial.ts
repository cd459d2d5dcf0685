// Serial transport over `serialport`. A USB-serial device that is unplugged makes the port close; the
// transport then polls for the path every `reconnectMs` and opens it again when it reappears (udev
// symlinks such as /dev/varde-alarm-1 make the path stable, see deploy/99-varde.rules).
import type { SerialPort } from "serialport";
import { BaseLink, type Link, type Transport } from "./transport.ts";

export class SerialLink extends BaseLink {
  /** Resolves once the OS port is closed (the fd released): the port's "close" event, or a failed close. */
  readonly released: Promise<void>;
  private release!: () => void;
  constructor(name: string, readonly port: SerialPort) {
    super(name);
    this.released = new Promise<void>((r) => (this.release = r));
    port.on("data", (b: Buffer) => this.emitData(new Uint8Array(b.buffer, b.byteOffset, b.length)));
    port.on("close", () => {
      this.release();
      this.markClosed();
    });
    port.on("error", () => {
      if (port.isOpen) this.closePort();
      else {
        // an error with the port neither open nor closing: no "close" event will follow
        if (!port.closing) this.release();
        this.markClosed();
      }
    });
  }
  rawWrite(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(bytes), (err) => {
        if (err) return reject(err);
        this.port.drain((e) => (e ? reject(e) : resolve()));
      });
    });
  }
  rawClose(): void {
    this.closePort();
  }
  /** Closes the port (if not already closing) and resolves when the fd is released. */
  closeAndWait(): Promise<void> {
    this.close();
    if (!this.port.isOpen && !this.port.closing) this.release();
    return this.released;
  }
  private closePort(): void {
    if (!this.port.isOpen) return; // closed, or a close is in progress ("close" follows)
    // a failed close emits no "close" event: nothing more can be released, so stop waiting
    this.port.close((err) => {
      if (err) this.release();
    });
  }
}

export interface SerialOptions {
  path: string;
  baudRate?: number;
  reconnectMs?: number;
  log?: (msg: string) => void;
}

export class SerialTransport implements Transport {
  readonly name: string;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private link: SerialLink | null = null;
  private lastError = "";
  /** an open in flight: settles after its port is a link or is closed again */
  private opening: Promise<void> | null = null;
  /** links whose port may still hold its fd (a close can be in progress after the link emitted "close") */
  private unreleased = new Set<SerialLink>();
  constructor(readonly opts: SerialOptions) {
    this.name = `serial:${opts.path}`;
  }
  async start(onLink: (link: Link) => void): Promise<void> {
    this.stopped = false;
    // loaded here, not at the top: a gateway without serial links never maps serialport's native binding
    const { SerialPort } = await import("serialport");
    const tryOpen = () => {
      if (this.stopped) return;
      const port = new SerialPort({ path: this.opts.path, baudRate: this.opts.baudRate ?? 115200, autoOpen: false });
      let opened!: () => void;
      this.opening = new Promise<void>((r) => (opened = r));
      const done = () => {
        this.opening = null;
        opened();
      };
      port.open((err) => {
        if (err) {
          // Log once per distinct error so an absent device does not flood the log.
          if (err.message !== this.lastError) this.opts.log?.(`${this.name}: cannot open (${err.message}); retrying every ${this.opts.reconnectMs ?? 1000} ms`);
          this.lastError = err.message;
          done();
          this.retry(tryOpen);
          return;
        }
        this.lastError = "";
        if (this.stopped) {
          port.close(() => done());
          return;
        }
        const link = new SerialLink(this.name, port);
        this.link = link;
        this.unreleased.add(link);
        void link.released.then(() => this.unreleased.delete(link));
        link.on("close", () => {
          this.link = null;
          this.opts.log?.(`${this.name}: port closed; waiting for it to come back`);
          this.retry(tryOpen);
        });
        done();
        onLink(link);
      });
    };
    tryOpen();
  }
  private retry(fn: () => void): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      fn();
    }, this.opts.reconnectMs ?? 1000);
  }
  /** Stops retrying and resolves when the port is really closed (the serialport close callback), including
   *  a port whose open was in flight when stop() was called. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.opening) await this.opening;
    await Promise.all([...this.unreleased].map((l) => l.closeAndWait()));
  }
}
