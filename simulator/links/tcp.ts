// The device listens on TCP like an Espruino WiFi console (one client at a time; a new connection
// replaces the old one, as Espruino's telnet server does). The gateway or `espruino -p tcp://host:port`
// connects to it.
import net from "node:net";
import { DataListeners, type LinkEnd } from "./link.ts";

export interface TcpLink extends LinkEnd {
  /** the port actually bound (useful with port 0) */
  readonly port: number;
  readonly connected: boolean;
  onConnection(cb: (connected: boolean) => void): () => void;
}

export async function listenTcpLink(port: number, host = "127.0.0.1"): Promise<TcpLink> {
  const data = new DataListeners();
  let conn: net.Socket | null = null;
  let connLs: Array<(c: boolean) => void> = [];
  const server = net.createServer((sock) => {
    if (conn) conn.destroy();
    conn = sock;
    sock.setNoDelay(true);
    sock.on("data", (b) => {
      if (conn === sock) data.emit(new Uint8Array(b));
    });
    const gone = (): void => {
      if (conn !== sock) return;
      conn = null;
      for (const l of connLs) l(false);
    };
    sock.on("close", gone);
    sock.on("error", gone);
    for (const l of connLs) l(true);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === "EADDRINUSE" ? `TCP port ${port} on ${host} is in use; pick another --tcp port` : `cannot listen on ${host}:${port}: ${e.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  return {
    port: bound,
    get connected() {
      return conn !== null;
    },
    write: (bytes) => {
      if (conn && !conn.destroyed) conn.write(Buffer.from(bytes));
    },
    onData: (cb) => data.add(cb),
    onConnection: (cb) => {
      connLs.push(cb);
      return () => {
        connLs = connLs.filter((x) => x !== cb);
      };
    },
    close: () => {
      conn?.destroy();
      server.close();
    },
  };
}
