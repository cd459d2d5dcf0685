// The bench's minimal relay: about the least a gateway must do to relay a device's event, in its own
// process, on the same device sessions, broker and subscriber as the gateway it is compared with. Per device
// frame: take it out of the stream (framing, CRC), decode the envelope, write the device an ack (sealed, as
// the devices expect a MAC, but the device's own MAC is NOT checked), and publish the event at QoS 1 with
// MQTT.js's ordinary publish — nothing stored, no fsync, no replay check, no availability, no correlation.
// Its latency and throughput against bare MQTT.js show what one more hop and one ack write per event cost on
// the machine the bench runs on, before any of the gateway's own work (the gateway's own publish path is
// cheaper than MQTT.js's, so it can come out ahead). Started by gateway-bench.ts with fork;
// IPC: child → {port}; parent → {cmd: "stop"}.
import * as net from "node:net";
import mqtt from "mqtt";
import { FrameParser } from "../../protocol/framing.ts";
import { MAC_LEN } from "../../protocol/mac.ts";
import { lookupType } from "../../protocol/schema.ts";
import { ackFrame, encodeMessage, sealEnvelope } from "../../gateway/wire.ts";

const KEY = new Uint8Array(32); // the bench devices decode what they receive without checking its MAC
const Envelope = lookupType("Envelope");
const url = process.env.BENCH_URL!;
const gateway = process.env.BENCH_GATEWAY!;

// A BackendEvent as the gateway publishes one for an alarm, without its event id (field 1): each event is
// field 1 written in front of these bytes (canonical order, and the subscriber reads field 1 only).
const REST = Buffer.from(encodeMessage("BackendEvent", {
  gateway, device: 10_000, kind: 1, type: "alarm", time: 1_796_000_000, received: 1_796_000_000,
  codes: [{ system: "VKP", code: "4.13", display: "button press" }, { system: "SCAIP", code: "0010", display: "manual alarm" }],
  envelope: { device: 10_000, boot: 1_342_187_728, seq: 1, time: 1_796_000_000, alarm: {} }, label: "",
}));
const OPTS = { qos: 1 as const, retain: false, properties: { contentType: "application/x-protobuf; proto=varde.v1.BackendEvent" } };

const client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `bench-minimal-${process.pid}`, clean: true });

const server = net.createServer((s) => {
  s.setNoDelay(true);
  s.on("error", () => s.destroy());
  const parser = new FrameParser((body) => {
    const env = Envelope.decode(body.subarray(0, body.length - MAC_LEN)) as any;
    const now = Math.floor(Date.now() / 1000);
    if (env.info) {
      s.write(sealEnvelope(KEY, { device: env.device, time: now, timeSync: { unix: now, millis: 0 } }));
      return;
    }
    if (!env.seq) return;
    s.write(ackFrame(KEY, env.device, 0, env.seq, now));
    const id = `${env.device}:${env.boot}:${env.seq}`;
    const p = Buffer.allocUnsafe(2 + id.length + REST.length);
    p[0] = 0x0a;
    p[1] = id.length; // event ids are short (< 128 bytes): one length byte
    p.write(id, 2, "latin1");
    REST.copy(p, 2 + id.length);
    client.publish(`varde/v1/${gateway}/device/${env.device}/event/alarm`, p, OPTS);
  });
  s.on("data", (b: Buffer) => parser.push(b));
  s.write(sealEnvelope(KEY, { hello: { nonce: 1, gatewayTime: Math.floor(Date.now() / 1000) } }));
});
server.listen(0, "127.0.0.1", () => process.send!({ port: (server.address() as net.AddressInfo).port }));
process.on("message", (m: { cmd: string }) => {
  if (m.cmd === "stop") void client.endAsync(true).then(() => process.exit(0));
});
