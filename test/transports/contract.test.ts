// The one contract every device transport passes (gateway/transports/transport.ts): serial over a real
// pty, TCP, and BLE over the fake central. Each case runs against each fixture (fixtures.ts).
import { afterEach, describe, expect, it } from "vitest";
import { encodeFrame, FrameParser } from "../../protocol/framing.ts";
import type { Link } from "../../gateway/transports/transport.ts";
import { FIXTURES, type Fixture } from "./fixtures.ts";
import { seededRng } from "../../simulator/ble/rng.ts";
import { sleep, until } from "../support/wait.ts";



function randomBytes(n: number, seed: number): Uint8Array {
  const r = seededRng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** Collects a Link's bytes and close events. */
function watch(link: Link) {
  const w = { bytes: [] as number[], closes: 0 };
  link.on("data", (b) => {
    for (const x of b) w.bytes.push(x);
  });
  link.on("close", () => w.closes++);
  return w;
}

for (const kind of Object.keys(FIXTURES)) {
  describe(`transport contract: ${kind}`, () => {
    let fx: Fixture | null = null;
    let links: Link[] = [];
    const open = async () => {
      fx = await FIXTURES[kind]();
      links = [];
      await fx.transport.start((l) => links.push(l));
      await until(() => links.length === 1 && fx!.peer.connected(), 5000, `${kind} link`);
      return { fx, link: links[0] };
    };
    afterEach(async () => {
      if (!fx) return;
      await fx.transport.stop();
      await fx.dispose();
      fx = null;
    });

    it("connects and names the link", async () => {
      const { link } = await open();
      expect(link.name).toMatch(new RegExp(`^${kind}:`));
    });

    it("carries bytes both ways intact", async () => {
      const { fx, link } = await open();
      const w = watch(link);
      const up = randomBytes(3000, 1);
      const down = randomBytes(3000, 2);
      await fx.peer.write(up);
      await link.write(down);
      await until(() => w.bytes.length >= up.length && fx.peer.received.length >= down.length, 5000, "bytes");
      expect(Buffer.from(w.bytes)).toEqual(Buffer.from(up));
      expect(Buffer.from(fx.peer.received)).toEqual(Buffer.from(down));
    });

    it("frames split across writes and chunks arrive whole and in order", async () => {
      const { fx, link } = await open();
      const r = seededRng(3);
      const bodies: Uint8Array[] = [];
      for (let i = 0; i < 60; i++) bodies.push(randomBytes(1 + Math.floor(r() * 140), 100 + i));
      const stream = new Uint8Array(Buffer.concat(bodies.map((b) => encodeFrame(b))));
      const got: Uint8Array[] = [];
      const parser = new FrameParser((b) => got.push(b));
      link.on("data", (b) => parser.push(b));
      // device -> gateway in odd-sized pieces that cut frames anywhere
      for (let i = 0; i < stream.length; ) {
        const n = 1 + Math.floor(r() * 37);
        await fx.peer.write(stream.subarray(i, i + n));
        i += n;
      }
      // gateway -> device: one write per frame, each larger than one BLE chunk for the big ones
      for (const b of bodies) await link.write(encodeFrame(b));
      await until(() => got.length === bodies.length && fx.peer.received.length === stream.length, 5000, "frames");
      expect(got.map((b) => Buffer.from(b).toString("hex"))).toEqual(bodies.map((b) => Buffer.from(b).toString("hex")));
      const back: Uint8Array[] = [];
      const p2 = new FrameParser((b) => back.push(b));
      p2.push(new Uint8Array(fx.peer.received));
      expect(back.length).toBe(bodies.length);
      expect(parser.bad + p2.bad).toBe(0);
    });

    it("survives large bursts (32 KiB each way, concurrent writes do not interleave)", async () => {
      const { fx, link } = await open();
      const w = watch(link);
      const up = randomBytes(32 * 1024, 4);
      const down = randomBytes(32 * 1024, 5);
      const t0 = Date.now();
      await Promise.all([fx.peer.write(up), link.write(down.subarray(0, 16384)), link.write(down.subarray(16384))]);
      await until(() => w.bytes.length >= up.length && fx.peer.received.length >= down.length, 20000, "burst");
      const ms = Date.now() - t0;
      expect(Buffer.from(w.bytes)).toEqual(Buffer.from(up));
      expect(Buffer.from(fx.peer.received)).toEqual(Buffer.from(down));
      console.log(`[contract ${kind}] 64 KiB round burst in ${ms} ms`);
    });

    it("peer disconnect closes the link once; writes then reject", async () => {
      const { fx, link } = await open();
      const w = watch(link);
      await fx.peer.drop();
      await until(() => w.closes > 0, 5000, "close event");
      await sleep(30);
      expect(w.closes).toBe(1);
      await expect(link.write(new Uint8Array([1]))).rejects.toThrow();
    });

    it("link.close() from the gateway side is idempotent and emits close once", async () => {
      const { link } = await open();
      const w = watch(link);
      link.close();
      link.close();
      await sleep(30);
      expect(w.closes).toBe(1);
      await expect(link.write(new Uint8Array([1]))).rejects.toThrow();
    });

    it("reconnects after the peer returns, with a new link that works", async () => {
      const { fx, link } = await open();
      const w = watch(link);
      await fx.peer.drop();
      await until(() => w.closes === 1, 5000, "close");
      await fx.peer.restore();
      await until(() => links.length === 2 && fx.peer.connected(), 5000, "second link");
      const second = links[1];
      expect(second).not.toBe(link);
      const w2 = watch(second);
      await fx.peer.write(new Uint8Array([9, 8, 7]));
      await second.write(new Uint8Array([1, 2, 3]));
      await until(() => w2.bytes.length === 3 && fx.peer.received.length >= 3, 5000, "bytes on second link");
      expect(w2.bytes).toEqual([9, 8, 7]);
      expect(fx.peer.received.slice(-3)).toEqual([1, 2, 3]);
    });

    it("stop() closes the link and releases everything", async () => {
      const { fx, link } = await open();
      const w = watch(link);
      await fx.transport.stop();
      expect(w.closes).toBe(1);
      await fx.assertReleased();
      const before = links.length;
      await sleep(100);
      expect(links.length).toBe(before); // no reconnect after stop
    });
  });
}
