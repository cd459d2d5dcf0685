// The relay's hot path to the broker: QoS 1 PUBLISH packets for events, each built into one buffer and
// written straight to the MQTT connection's stream (the drain publishes a turn's events together, so
// they leave in one write), with their PUBACKs taken from the packets MQTT.js reads. MQTT.js keeps
// everything else on that connection — CONNECT and the will, subscriptions, commands, retained state and
// availability, keepalive. Why: MQTT.js's publish path copies the options, clones the packet for its
// store, and encodes field by field through a dozen debug() calls: a profile at saturation showed it
// allocating about a third of all the gateway's bytes and costing more CPU than the rest of the relay's
// MQTT side (test/bench).
//
// The same behaviour as MQTT.js's QoS 1 publish, which it replaces for events:
//  * packet ids: one space for both. MQTT.js takes ids 1..MQTTJS_IDS (LowIdProvider, its
//    messageIdProvider) for its own traffic; events take the rest, skipping ids still waiting. MQTT.js
//    ignores a PUBACK for an id it does not know (handlers/ack.js), which is how events' PUBACKs pass it.
//  * a publish without its PUBACK when the connection drops is kept, and sent again with the DUP flag and
//    the same packet id right after the next CONNACK (MQTT 3.1.1 §4.4, 5.0 §4.4), before anything new:
//    what MQTT.js does with its outgoing store (connection.ts keeps the same client across reconnects).
//    A publish made while disconnected waits for the next CONNACK the same way.
//  * a PUBACK with a reason code of 0x80 or more (MQTT 5: refused, e.g. by the broker's ACL) answers
//    with an error carrying the code; 0x10 (no matching subscribers) is success.
//  * like MQTT.js, the broker's Receive Maximum is not enforced (the drain's window bounds what is in
//    flight: [mqtt] inflight).
//  * "packetsend" is emitted on the client for every event publish while someone listens (tests do).
// Packet layout (MQTT 3.1.1 §3.3 / 5.0 §3.3): 0x32 (PUBLISH, QoS 1; | 0x08 DUP) | remaining length
// (varint) | topic (u16 length + UTF-8) | packet id (u16) | [MQTT 5: properties length (varint) | 0x03
// content type (u16 length + UTF-8)] | payload. fast-publish.test.ts checks the bytes against mqtt-packet.
import type { MqttClient } from "mqtt";

/** ids 1..MQTTJS_IDS belong to MQTT.js; the rest to events */
export const MQTTJS_IDS = 4095;
const FIRST_ID = MQTTJS_IDS + 1;
const LAST_ID = 65535;

/**
 * MQTT.js's messageIdProvider (IMessageIdProvider) confined to ids 1..MQTTJS_IDS: like MQTT.js's default
 * provider it counts up and wraps without tracking use (its own publishes are few: state, availability,
 * command responses, subscriptions).
 */
export class LowIdProvider {
  private nextId = 1;
  allocate(): number {
    const id = this.nextId;
    this.nextId = id >= MQTTJS_IDS ? 1 : id + 1;
    return id;
  }
  getLastAllocated(): number {
    return this.nextId === 1 ? MQTTJS_IDS : this.nextId - 1;
  }
  register(_id: number): boolean {
    return true;
  }
  deallocate(_id: number): void {}
  clear(): void {}
}

function varintLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}
function writeVarint(b: Buffer, at: number, n: number): number {
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    b[at++] = d;
  } while (n > 0);
  return at;
}

type Puback = (err?: Error) => void;
type Stream = NodeJS.WritableStream & { writable: boolean; cork(): void; uncork(): void };
/** a publish waiting for its PUBACK: its packet (sent again after a reconnect) and who to tell */
type Waiting = { packet: Buffer; puback: Puback; sent: boolean };

export class FastPublisher {
  private readonly waiting = new Map<number, Waiting>();
  private nextId = FIRST_ID;
  private readonly props: Buffer | null;
  private readonly topics = new Map<string, Buffer>();
  private client: MqttClient | null = null;

  /** `contentType`: the MQTT 5 content type property of every event (null: none, and under MQTT 3.1.1). */
  constructor(private readonly contentType: string | null) {
    if (contentType === null) this.props = null;
    else {
      const ct = Buffer.from(contentType, "utf8");
      const body = Buffer.alloc(3 + ct.length);
      body[0] = 0x03;
      body.writeUInt16BE(ct.length, 1);
      ct.copy(body, 3);
      const props = Buffer.alloc(varintLength(body.length) + body.length);
      body.copy(props, writeVarint(props, 0, body.length));
      this.props = props;
    }
  }

  /**
   * Serves `client` (once, before anyone else listens to its "connect": what waits is sent again first).
   * Its options must carry `messageIdProvider: new LowIdProvider()`.
   */
  attach(client: MqttClient): void {
    this.client = client;
    client.on("packetreceive", (p) => {
      if (p.cmd !== "puback" || !p.messageId || p.messageId <= MQTTJS_IDS) return;
      const w = this.waiting.get(p.messageId);
      if (!w) return;
      this.waiting.delete(p.messageId);
      const rc = (p as { reasonCode?: number }).reasonCode ?? 0;
      w.puback(rc >= 0x80 ? Object.assign(new Error(`PUBACK reason code 0x${rc.toString(16)}`), { code: rc }) : undefined);
    });
    client.on("connect", () => this.resend());
  }

  /** Events waiting for their PUBACK. */
  get inFlight(): number {
    return this.waiting.size;
  }

  private allocate(): number {
    for (let i = 0; i <= LAST_ID - FIRST_ID; i++) {
      const id = this.nextId;
      this.nextId = id >= LAST_ID ? FIRST_ID : id + 1;
      if (!this.waiting.has(id)) return id;
    }
    throw new Error(`no free MQTT packet id (${LAST_ID - MQTTJS_IDS} publishes waiting for their PUBACK)`);
  }

  private stream(): Stream | null {
    const c = this.client;
    const s = c?.stream as Stream | undefined;
    return c && c.connected && s && s.writable ? s : null;
  }
  private corked: Stream | null = null;
  private readonly uncork = () => {
    this.corked?.uncork();
    this.corked = null;
  };

  /** Publishes at QoS 1 (not retained); `puback` runs once the broker has it, or with an error it refused it with. */
  publish(topic: string, payload: Buffer, puback: Puback): void {
    let t = this.topics.get(topic);
    if (!t) {
      const tb = Buffer.from(topic, "utf8");
      t = Buffer.alloc(2 + tb.length);
      t.writeUInt16BE(tb.length, 0);
      tb.copy(t, 2);
      if (this.topics.size > 100_000) this.topics.clear();
      this.topics.set(topic, t);
    }
    const id = this.allocate();
    const rest = t.length + 2 + (this.props ? this.props.length : 0) + payload.length;
    const b = Buffer.allocUnsafe(1 + varintLength(rest) + rest);
    b[0] = 0x32;
    let i = writeVarint(b, 1, rest);
    i += t.copy(b, i);
    b[i++] = id >> 8;
    b[i++] = id & 0xff;
    if (this.props) i += this.props.copy(b, i);
    b.set(payload, i);
    const w: Waiting = { packet: b, puback, sent: false };
    this.waiting.set(id, w);
    this.send(id, w, false, topic, payload);
  }

  private send(id: number, w: Waiting, dup: boolean, topic?: string, payload?: Buffer): void {
    const s = this.stream();
    if (!s) return; // sent after the next CONNACK (resend)
    if (dup) w.packet[0] |= 0x08;
    w.sent = true;
    // corked until the end of this tick: the drain's batch leaves in one write (as MQTT.js's writes do)
    if (this.corked !== s) {
      this.uncork();
      s.cork();
      this.corked = s;
      process.nextTick(this.uncork);
    }
    s.write(w.packet);
    const c = this.client!;
    if (c.listenerCount("packetsend") > 0) {
      c.emit("packetsend", { cmd: "publish", qos: 1, dup, retain: false, messageId: id, topic: topic ?? this.topicOf(w.packet), payload: payload ?? this.payloadOf(w.packet), ...(this.contentType !== null ? { properties: { contentType: this.contentType } } : {}) });
    }
  }

  /** After a CONNACK: every publish still waiting, in the order first published (DUP when it had been sent). */
  private resend(): void {
    for (const [id, w] of this.waiting) this.send(id, w, w.sent);
  }

  // the fields of a stored packet, for "packetsend" on a resend (tests only)
  private topicOf(p: Buffer): string {
    const at = 1 + varintLength(this.remaining(p));
    return p.toString("utf8", at + 2, at + 2 + p.readUInt16BE(at));
  }
  private payloadOf(p: Buffer): Buffer {
    const at = 1 + varintLength(this.remaining(p));
    return p.subarray(at + 2 + p.readUInt16BE(at) + 2 + (this.props ? this.props.length : 0));
  }
  private remaining(p: Buffer): number {
    let n = 0;
    let mul = 1;
    for (let i = 1; i < 5; i++) {
      n += (p[i] & 0x7f) * mul;
      if (p[i] < 0x80) break;
      mul *= 128;
    }
    return n;
  }
}
