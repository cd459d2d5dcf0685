// The demo's response centre acknowledges each alarm once — by hand or by the automatic responder,
// whichever is first — says so when there is nothing left to acknowledge, and prints event ids whole
// (issue 14 item 6). Against an embedded broker, with alarm events published as a gateway would.
import { afterEach, describe, expect, it } from "vitest";
import mqtt from "mqtt";
import { startEmbeddedBroker } from "../../gateway/mqtt/embedded.ts";
import { filter, topic } from "../../gateway/mqtt/topics.ts";
import { decodeMessage, encodeCanonical } from "../../protocol/schema.ts";
import { until } from "../../test/support/wait.ts";
import { ResponseCentre } from "./response-centre.ts";

const GW = "rc-gw";
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function rig(autoAckMs: number | null) {
  const broker = await startEmbeddedBroker("127.0.0.1", 0);
  cleanup.push(() => broker.close());
  const lines: string[] = [];
  const centre = new ResponseCentre({ url: broker.url, gateway: GW, autoAckMs, print: (l) => lines.push(l) });
  await centre.start();
  cleanup.push(() => centre.stop());
  const gw = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  cleanup.push(() => gw.endAsync());
  const acks: any[] = [];
  gw.on("message", (_t, p) => acks.push(decodeMessage("CommandRequest", p)));
  await gw.subscribeAsync(filter("command", GW), { qos: 1 });
  const alarm = async (seq: number) => {
    const ev = { eventId: `1001:863837109:${seq}`, gateway: GW, device: 1001, type: "alarm", time: 1_800_000_000, envelope: { device: 1001, boot: 863837109, seq, alarm: {} } };
    await gw.publishAsync(topic("event", { gateway: GW, device: 1001, type: "alarm" }), Buffer.from(encodeCanonical("BackendEvent", ev)), { qos: 1 });
    await until(() => centre.events.some((e) => e.event.eventId === ev.eventId), 5000, `alarm ${seq} at the centre`);
  };
  return { centre, lines, acks, alarm };
}

describe("demo response centre", () => {
  it("a hand ack before the automatic one: one ack-alarm; a second `a` says it was done", async () => {
    const r = await rig(60_000);
    await r.alarm(1);
    expect(r.centre.pendingAutoAcks()).toBe(1);
    expect(r.lines.some((l) => l.includes("id=1001:863837109:1"))).toBe(true);
    expect(await r.centre.acknowledge()).toBe(true);
    await until(() => r.acks.length === 1, 5000, "the ack-alarm command");
    expect(r.centre.pendingAutoAcks()).toBe(0); // the automatic responder will not ack it again
    expect(r.acks).toHaveLength(1);
    expect(r.acks[0]).toMatchObject({ device: 1001, alarmSeq: 1 });
    expect(await r.centre.acknowledge()).toBe(false);
    expect(r.lines[r.lines.length - 1]).toMatch(/no open alarm: 1001:863837109:1 was acknowledged by you \(key a\) \d+ s ago; press p for a new alarm/);
  });

  it("the automatic responder acknowledges once, naming the whole event id; `a` afterwards acknowledges nothing", async () => {
    const r = await rig(50);
    await r.alarm(7);
    await until(() => r.acks.length === 1, 5000, "the automatic ack-alarm");
    expect(r.lines).toContainEqual(expect.stringMatching(/the automatic responder acknowledges alarm 1001:863837109:7 \(command ack-alarm/));
    expect(await r.centre.acknowledge()).toBe(false);
    expect(r.centre.pendingAutoAcks()).toBe(0);
  });
});
