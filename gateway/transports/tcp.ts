// TCP transports. `TcpConnectTransport` dials a device that listens (an Espruino WiFi board's socket,
// or the simulator's TCP link) and redials after `reconnectMs` whenever the connection fails or drops.
// `TcpListenTransport` accepts devices that dial in; each accepted socket is one Link.
import * as net from "node:net";
import { BaseLink, WRITTEN, type Link, type Transport } from "./transport.ts";

export class SocketLink extends BaseLink {
  constructor(name: string, readonly socket: net.Socket) {
    super(name);
    socket.setNoDelay(true);
    socket.on("data", (b: Buffer) => this.emitData(b)); // a Buffer is a Uint8Array: no view per read
    socket.on("close", () => this.markClosed());
    socket.on("error", () => socket.destroy()); // "close" follows
  }
  rawWrite(bytes: Uint8Array): Promise<void> {
    // no per-write callback (one ack per event goes this way): a failed socket emits "error", is
    // destroyed and the link closes; bytes written to a dying socket are lost like any in flight
    this.socket.write(bytes);
    return WRITTEN;
  }
  rawClose(): void {
    this.socket.destroy();
  }
}

export interface TcpConnectOptions {
  host: string;
  port: number;
  reconnectMs?: number;
  log?: (msg: string) => void;
}

export class TcpConnectTransport implements Transport {
  readonly name: string;
  private stopped = true;
  private link: SocketLink | null = null;
  private timer: NodeJS.Timeout | null = null;
  private socket: net.Socket | null = null;
  constructor(readonly opts: TcpConnectOptions) {
    this.name = `tcp:${opts.host}:${opts.port}`;
  }
  async start(onLink: (link: Link) => void): Promise<void> {
    this.stopped = false;
    const dial = () => {
      if (this.stopped) return;
      const s = net.connect({ host: this.opts.host, port: this.opts.port });
      this.socket = s;
      let up = false;
      s.once("connect", () => {
        up = true;
        this.link = new SocketLink(this.name, s);
        this.link.on("close", () => {
          this.link = null;
          this.retry(dial);
        });
        onLink(this.link);
      });
      s.once("error", (e) => {
        if (!up) {
          this.opts.log?.(`${this.name}: cannot connect (${e.message}); retrying in ${this.opts.reconnectMs ?? 1000} ms`);
          s.destroy();
          this.retry(dial);
        }
      });
    };
    dial();
  }
  private retry(dial: () => void): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      dial();
    }, this.opts.reconnectMs ?? 1000);
  }
  /** Stops redialling; resolves when the socket (connected or still dialling) is closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.link?.close();
    const s = this.socket;
    s?.destroy();
    if (s) await socketClosed(s);
  }
}

export interface TcpListenOptions {
  host?: string;
  port: number;
}

export class TcpListenTransport implements Transport {
  readonly name: string;
  private server: net.Server | null = null;
  private links = new Set<SocketLink>();
  /** The bound port (useful with port 0). */
  port = 0;
  constructor(readonly opts: TcpListenOptions) {
    this.name = `tcp-listen:${opts.host ?? "127.0.0.1"}:${opts.port}`;
  }
  async start(onLink: (link: Link) => void): Promise<void> {
    const server = net.createServer((s) => {
      const link = new SocketLink(`tcp:${s.remoteAddress}:${s.remotePort}`, s);
      this.links.add(link);
      link.on("close", () => this.links.delete(link));
      onLink(link);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) => reject(new Error(`${this.name}: cannot listen: ${e.message}; pick a free port in [[transport]] port`)));
      // a deep accept queue: after a power cut every device of a care building dials at once, and a SYN
      // beyond the queue waits for its retransmission (1 s); the kernel caps it at net.core.somaxconn
      server.listen({ port: this.opts.port, host: this.opts.host ?? "127.0.0.1", backlog: 4096 }, () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
  }
  /** Resolves when every accepted socket and the listening socket are closed. */
  async stop(): Promise<void> {
    const waits = [...this.links].map((l) => {
      l.close();
      return socketClosed(l.socket);
    });
    await Promise.all(waits);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Resolves when the socket's handle is closed ("close" event; at once when it already was). */
function socketClosed(s: net.Socket): Promise<void> {
  return new Promise<void>((r) => (s.closed ? r() : s.once("close", () => r())));
}
