import { describe, it, expect } from "vitest";
import * as net from "node:net";
import { openLink, parseTcp, portKind } from "./link.ts";

describe("ports", () => {
  it("tells serial, TCP and BLE apart", () => {
    expect(portKind("/dev/ttyUSB0")).toBe("serial");
    expect(portKind("tcp://10.0.0.5:23")).toBe("tcp");
    expect(portKind("C7:1B:22:AA:00:01")).toBe("ble");
    expect(parseTcp("tcp://10.0.0.5")).toEqual({ host: "10.0.0.5", port: 23 });
    expect(parseTcp("tcp://:4000")).toEqual({ host: "localhost", port: 4000 });
    expect(() => parseTcp("tcp://host:99999")).toThrow(/not a TCP port number/);
  });

  it("errors name the port and the fix", async () => {
    await expect(openLink("/dev/ttyNOPE9")).rejects.toThrow(/\/dev\/ttyNOPE9 does not exist: is the device plugged in/);
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await expect(openLink(`tcp://127.0.0.1:${port}`)).rejects.toThrow(/connection refused: nothing listens on 127.0.0.1:\d+/);
    await expect(openLink("AA:BB:CC:DD:EE:FF")).rejects.toThrow(/BLE address/);
  });

  it("moves bytes both ways over TCP", async () => {
    const srv = net.createServer((s) => s.on("data", (b) => s.write(Buffer.concat([Buffer.from("echo:"), b]))));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const link = await openLink(`tcp://127.0.0.1:${(srv.address() as net.AddressInfo).port}`);
    const got = new Promise<string>((r) => link.onData((b) => r(b.toString("latin1"))));
    link.write(new Uint8Array([0xf5, 0xa7]));
    expect(await got).toBe("echo:\xf5\xa7");
    await link.close();
    await new Promise<void>((r) => srv.close(() => r()));
  });
});
