// Serial transport over `serialport`. A USB-serial device that is unplugged makes the port close; the
// transport then polls for the path every `reconnectMs` and opens it again when it reappears (udev
// symlinks such as /dev/varde-alarm-1 make the path stable, see deploy/99-varde.rules).
import { SerialPort } from "serialport";
import { BaseLink, type Link, type Transport } from "./transport.ts";

export class SerialLink extends BaseLink {
  constructor(name: string, readonly port: SerialPort) {
    super(name);
    port.on("data", (b: Buffer) => this.emitData(new Uint8Array(b.buffer, b.byteOffset, b.length)));
    port.on("close", () => this.markClosed());
    port.on("error", () => {
      if (port.isOpen) port.close(() => undefined);
      else this.markClosed();
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
    if (this.port.isOpen) this.port.close(() => undefined);
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
  constructor(readonly opts: SerialOptions) {
    this.name = `serial:${opts.path}`;
  }
  async start(onLink: (link: Link) => void): Promise<void> {
    this.stopped = false;
    const tryOpen = () => {
      if (this.stopped) return;
      const port = new SerialPort({ path: this.opts.path, baudRate: this.opts.baudRate ?? 115200, autoOpen: false });
      port.open((err) => {
        if (err) {
          // Log once per distinct error so an absent device does not flood the log.
          if (err.message !== this.lastError) this.opts.log?.(`${this.name}: cannot open (${err.message}); retrying every ${this.opts.reconnectMs ?? 1000} ms`);
          this.lastError = err.message;
          this.retry(tryOpen);
          return;
        }
        this.lastError = "";
        if (this.stopped) {
          port.close(() => undefined);
          return;
        }
        const link = new SerialLink(this.name, port);
        this.link = link;
        link.on("close", () => {
          this.link = null;
          this.opts.log?.(`${this.name}: port closed; waiting for it to come back`);
          this.retry(tryOpen);
        });
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
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.link?.close();
  }
}
