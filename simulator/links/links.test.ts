import net from "node:net";
import { describe, expect, it } from "vitest";
import { loadBoard } from "../../hardware/boards.ts";
import { RealtimeClock, VirtualClock } from "../clock.ts";
import { SimDevice } from "../device.ts";
import { FaultyLink } from "./faults.ts";
import { createMemoryLinkPair } from "./memory.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPtyPair, openSerialLinkEnd } from "./pty.ts";
import { listenTcpLink } from "./tcp.ts";

const ECHO = `E.on("init", function () { E.setConsole(LoopbackA); });
Serial1.on("data", function (d) { Serial1.write("<" + d + ">"); });`;

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("memory link", () => {
  it("delivers through the clock, in order, at the given byte rate", () => {
    const clock = new VirtualClock({ startMs: 0 });
    const [a, b] = createMemoryLinkPair(clock, { bytesPerSecond: 1000, delayMs: 2 });
    const got: Array<[number, number]> = [];
    b.onData((x) => got.push([clock.now(), x.length]));
    a.write(new Uint8Array(10));
    a.write(new Uint8Array(5));
    expect(got).toEqual([]);
    clock.runFor(100);
    expect(got).toEqual([
      [12, 10],
      [17, 5],
    ]);
  });
});

describe("fault injection", () => {
  const run = (seed: number) => {
    const clock = new VirtualClock({ seed, startMs: 0 });
    const [a, b] = createMemoryLinkPair(clock);
    const fa = new FaultyLink(a, clock, { corruptByte: 0.05, dropChunk: 0.1, delayMs: [1, 20] });
    const got: number[] = [];
    b.onData((x) => got.push(...x));
    for (let i = 0; i < 200; i++) fa.write(new Uint8Array([i & 0xff, 0x55]));
    clock.runFor(10_000);
    return { got, stats: fa.stats };
  };

  it("corrupts and drops at roughly the asked rates, the same way for the same seed", () => {
    const r1 = run(3);
    const r2 = run(3);
    expect(r1).toEqual(r2);
    expect(run(4).got).not.toEqual(r1.got);
    expect(r1.stats.droppedChunks).toBeGreaterThan(5);
    expect(r1.stats.droppedChunks).toBeLessThan(40);
    expect(r1.stats.corruptedBytes).toBeGreaterThan(5);
    expect(r1.got.length).toBe((200 - r1.stats.droppedChunks) * 2);
  });

  it("splits chunks into pieces that still arrive in order", () => {
    const clock = new VirtualClock({ seed: 5 });
    const [a, b] = createMemoryLinkPair(clock);
    const fa = new FaultyLink(a, clock, { splitChunk: 1, delayMs: [0, 5] });
    const pieces: number[][] = [];
    b.onData((x) => pieces.push([...x]));
    for (let i = 0; i < 10; i++) fa.write(Uint8Array.from({ length: 20 }, (_, k) => i * 20 + k));
    clock.runFor(1000);
    expect(pieces.flat()).toEqual(Array.from({ length: 200 }, (_, k) => k));
    expect(pieces.length).toBeGreaterThan(20);
    expect(fa.stats.splitChunks).toBe(10);
  });

  it("loses everything while disconnected, in both directions", () => {
    const clock = new VirtualClock();
    const [a, b] = createMemoryLinkPair(clock);
    const fa = new FaultyLink(a, clock);
    const atB: number[] = [];
    const atA: number[] = [];
    b.onData((x) => atB.push(...x));
    fa.onData((x) => atA.push(...x));
    fa.disconnect();
    fa.write(new Uint8Array([1]));
    b.write(new Uint8Array([2]));
    clock.runFor(10);
    fa.reconnect();
    fa.write(new Uint8Array([3]));
    b.write(new Uint8Array([4]));
    clock.runFor(10);
    expect([atB, atA]).toEqual([[3], [4]]);
    expect(fa.stats.lostDisconnected).toBe(2);
  });
});

describe("pty link (socat + serialport)", () => {
  it("carries bytes both ways between a simulated device and a serialport client", async () => {
    const clock = new RealtimeClock({ seed: 1 });
    const pty = await openPtyPair(mkdtempSync(join(tmpdir(), "varde-pty-")));
    const dev = new SimDevice({ board: loadBoard("alarm-esp32"), clock, link: pty.device });
    dev.install(ECHO);
    dev.powerOn();
    const { link: gw } = await openSerialLinkEnd(pty.hostPath);
    const got: number[] = [];
    gw.onData((b) => got.push(...b));
    try {
      gw.write(new Uint8Array([0x41, 0xf5, 0x00, 0x42]));
      await until(() => got.length >= 6);
      expect(got).toEqual([0x3c, 0x41, 0xf5, 0x00, 0x42, 0x3e]); // binary-safe, byte for byte
    } finally {
      gw.close();
      await pty.close();
      clock.stop();
      dev.powerOff();
    }
  });
});

describe("TCP link", () => {
  it("lets a client talk to the device; a new client replaces the old one", async () => {
    const clock = new RealtimeClock({ seed: 1 });
    const link = await listenTcpLink(0);
    const dev = new SimDevice({ board: loadBoard("alarm-esp32"), clock, link });
    dev.install(ECHO);
    dev.powerOn();
    const connect = async (): Promise<{ sock: net.Socket; got: string[] }> => {
      const sock = net.connect(link.port, "127.0.0.1");
      const got: string[] = [];
      sock.on("data", (d) => got.push(d.toString("latin1")));
      await new Promise((r) => sock.once("connect", r));
      return { sock, got };
    };
    try {
      const c1 = await connect();
      await until(() => link.connected);
      c1.sock.write("hi");
      await until(() => c1.got.join("") === "<hi>");
      const c2 = await connect();
      await new Promise((r) => c1.sock.once("close", r));
      c2.sock.write("x");
      await until(() => c2.got.join("") === "<x>");
      c2.sock.destroy();
    } finally {
      link.close();
      clock.stop();
      dev.powerOff();
    }
  });
});
