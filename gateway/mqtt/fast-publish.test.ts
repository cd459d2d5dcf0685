// The event publish path against mqtt-packet (MQTT.js's own codec) and a stand-in client: bytes, PUBACKs,
// and what happens to publishes across a reconnect. End to end with a real broker restart:
// gateway/mqtt/backend.test.ts and test/chaos.
import { describe, it, expect } from "vitest";
import { EventEmitter } from "node:events";
import mqttPacket from "mqtt-packet";
import type { MqttClient } from "mqtt";
import { FastPublisher, LowIdProvider, MQTTJS_IDS } from "./fast-publish.ts";

const CT = "application/x-protobuf; proto=varde.v1.BackendEvent";

/** what FastPublisher uses of an MqttClient: connected, stream, events */
function fakeClient() {
  const written: Buffer[] = [];
  const c = Object.assign(new EventEmitter(), {
    connected: true,
    stream: { writable: true, write: (b: Buffer) => written.push(Buffer.from(b)), cork: () => undefined, uncork: () => undefined },
  });
  return { c, written, client: c as unknown as MqttClient };
}
const parse = (b: Buffer, protocolVersion: 4 | 5) => {
  const p = mqttPacket.parser({ protocolVersion });
  let out: any = null;
  p.on("packet", (x) => (out = x));
  p.parse(b);
  return out;
};

describe("fast QoS 1 publish", () => {
  it("writes the PUBLISH packet mqtt-packet writes (MQTT 5 with content type, 3.1.1 without), ids above MQTT.js's", () => {
    for (const [v, ct] of [[5, CT], [4, null]] as const) {
      const { c, written, client } = fakeClient();
      const fp = new FastPublisher(ct);
      fp.attach(client);
      const payload = Buffer.alloc(300, 7); // a two-byte remaining length
      fp.publish("varde/v1/gw/device/1001/event/alarm", payload, () => undefined);
      const p = parse(written[0], v);
      expect(p.messageId).toBeGreaterThan(MQTTJS_IDS);
      const expected = mqttPacket.generate({ cmd: "publish", qos: 1, dup: false, retain: false, messageId: p.messageId, topic: "varde/v1/gw/device/1001/event/alarm", payload, ...(ct ? { properties: { contentType: ct } } : {}) }, { protocolVersion: v });
      expect(written[0].equals(expected)).toBe(true);
      expect(c.listenerCount("packetreceive")).toBe(1);
    }
  });

  it("settles on the PUBACK of its id: refused (0x80 and up) with the code, 0x10 accepted; MQTT.js's ids and unknown ids are not its", () => {
    const { c, written, client } = fakeClient();
    const fp = new FastPublisher(CT);
    fp.attach(client);
    const got: Array<string> = [];
    fp.publish("t/a", Buffer.from("a"), (e) => got.push(e ? `a ${(e as any).code}` : "a ok"));
    fp.publish("t/b", Buffer.from("b"), (e) => got.push(e ? `b ${(e as any).code}` : "b ok"));
    fp.publish("t/c", Buffer.from("c"), (e) => got.push(e ? `c ${(e as any).code}` : "c ok"));
    const [a, b, cc] = written.map((w) => parse(w, 5).messageId);
    c.emit("packetreceive", { cmd: "puback", messageId: 17, reasonCode: 0 }); // MQTT.js's
    c.emit("packetreceive", { cmd: "puback", messageId: 65000, reasonCode: 0 }); // nobody's
    c.emit("packetreceive", { cmd: "puback", messageId: b, reasonCode: 0x87 });
    c.emit("packetreceive", { cmd: "puback", messageId: a, reasonCode: 0x10 });
    c.emit("packetreceive", { cmd: "puback", messageId: cc });
    c.emit("packetreceive", { cmd: "puback", messageId: cc }); // twice: once settled
    expect(got).toEqual(["b 135", "a ok", "c ok"]);
    expect(fp.inFlight).toBe(0);
  });

  it("across a reconnect: sent and unacknowledged go again with DUP and the same id, unsent ones without, in order, before new ones", () => {
    const { c, written, client } = fakeClient();
    const fp = new FastPublisher(null);
    fp.attach(client);
    const acked: string[] = [];
    fp.publish("t/1", Buffer.from("1"), () => acked.push("1"));
    fp.publish("t/2", Buffer.from("2"), () => acked.push("2"));
    const id1 = parse(written[0], 4).messageId;
    const id2 = parse(written[1], 4).messageId;
    c.emit("packetreceive", { cmd: "puback", messageId: id1 });
    c.connected = false; // connection lost: 2 has no PUBACK
    fp.publish("t/3", Buffer.from("3"), () => acked.push("3")); // while away: not written
    expect(written.length).toBe(2);
    const sends: any[] = [];
    c.on("packetsend", (p) => sends.push(p));
    c.connected = true;
    c.emit("connect");
    const again = written.slice(2).map((w) => parse(w, 4));
    expect(again.map((p) => [p.topic, p.dup, p.messageId === id2])).toEqual([["t/2", true, true], ["t/3", false, false]]);
    expect(sends.map((p) => [p.cmd, p.topic, p.qos, p.retain, p.dup, String(p.payload)])).toEqual([["publish", "t/2", 1, false, true, "2"], ["publish", "t/3", 1, false, false, "3"]]);
    for (const p of again) c.emit("packetreceive", { cmd: "puback", messageId: p.messageId });
    expect(acked).toEqual(["1", "2", "3"]);
  });

  it("MQTT.js's own ids stay in 1..MQTTJS_IDS", () => {
    const ids = new LowIdProvider();
    const seen = Array.from({ length: MQTTJS_IDS + 2 }, () => ids.allocate());
    expect([Math.min(...seen), Math.max(...seen), seen[MQTTJS_IDS]]).toEqual([1, MQTTJS_IDS, 1]);
  });
});
