// The embedded broker: an in-process aedes (MQTT 3.1.1) used when gateway.toml names no broker.
// Handy for a single home and for the demo; a municipality points [mqtt] url at its own broker.
import * as net from "node:net";

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker> {
  const { Aedes } = await import("aedes"); // loaded only when no broker is configured
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  const sockets = new Set<net.Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e) => reject(new Error(`embedded MQTT broker cannot listen on ${host}:${port}: ${e.message}; set [mqtt] embedded_port to a free port (0 = any) or set [mqtt] url to an existing broker`)));
      server.listen(port, host, () => resolve());
    });
  } catch (e) {
    // the broker's timers would keep the process alive, doing nothing, after this fatal error
    await new Promise<void>((r) => broker.close(() => r()));
    throw e;
  }
  const bound = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://${host}:${bound}`,
    port: bound,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}
