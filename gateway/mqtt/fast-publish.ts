// The relay's hot path to the broker: QoS 1 PUBLISH packets for events, each built into one buffer and
// written straight to the MQTT connection's socket (batched per event-loop turn: one writev), with their
// PUBACKs taken from the packets MQTT.js reads. MQTT.js keeps everything else on that connection —
// CONNECT and the will, subscriptions, commands, retained state and availability, keepalive — but its
// publish path builds a packet object, copies options and writes each field as its own chunk, which cost
// more per event than the rest of the relay together (test/bench).
//
// Packet ids: one space for both. MQTT.js takes ids from 1 to MQTTJS_IDS (messageIdProvider below) for
// its own traffic; events use the rest, skipping ids still waiting for their PUBACK. A PUBACK for one of
// ours is ignored by MQTT.js (it does not know the id) and settles ours. When the connection drops, every
// publish still waiting gets an error: the drain publishes those events again on the next connection
// (consumers deduplicate by event id; MQTT's DUP resend would be no stronger).
// Packet layout (MQTT 3.1.1 §3.3 / 5.0 §3.3): 0x32 (PUBLISH, QoS 1) | remaining length (varint) |
// topic (u16 length + UTF-8) | packet id (u16) | [MQTT 5: properties length (varint) | 0x03 content type
// (u16 length + UTF-8)] | payload.
import type { MqttClient } from "mqtt";

/** ids 1..MQTTJS_IDS belong to MQTT.js; the rest to events */
export const MQTTJS_IDS = 4095;

/** MQTT.js's messageIdProvider (IMessageIdProvider): ids 1..MQTTJS_IDS, wrapping. */
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

export class FastPublisher {
  private readonly waiting = new Map<number, (err?: Error) => void>();
  private nextId = MQTTJS_IDS + 1;
  private readonly props: Buffer | null;
  private readonly topics = new Map<string, Buffer>();
  private corked = false;
  private client: MqttClient | null = null;

  /** `contentType`: the MQTT 5 content type property of every event (null under MQTT 3.1.1). */
  constructor(contentType: string | null) {
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

  /** Starts serving a client (once): PUBACKs of events, errors for those waiting when it closes. */
  attach(client: MqttClient): void {
    this.client = client;
    client.on("packetreceive", (p) => {
      if (p.cmd !== "puback" || !p.messageId || p.messageId <= MQTTJS_IDS) return;
      const cb = this.waiting.get(p.messageId);
      if (!cb) return;
      this.waiting.delete(p.messageId);
      const rc = (p as { reasonCode?: number }).reasonCode ?? 0;
      // MQTT 5: 0x10 = no matching subscribers (accepted); 0x80+ = refused (e.g. not authorized by the ACL)
      cb(rc >= 0x80 ? Object.assign(new Error(`PUBACK reason code 0x${rc.toString(16)}`), { code: rc }) : undefined);
    });
    client.on("close", () => {
      const cbs = [...this.waiting.values()];
      this.waiting.clear();
      for (const cb of cbs) cb(new Error("connection closed before the PUBACK"));
    });
  }

  /** Events waiting for their PUBACK. */
  get inFlight(): number {
    return this.waiting.size;
  }

  private allocate(): number {
    for (let i = 0; i < 65535 - MQTTJS_IDS; i++) {
      const id = this.nextId;
      this.nextId = id >= 65535 ? MQTTJS_IDS + 1 : id + 1;
      if (!this.waiting.has(id)) return id;
    }
    throw new Error("no free MQTT packet id (more than 61,000 publishes waiting for PUBACK)");
  }

  /** Publishes at QoS 1 (not retained); `puback` runs when the broker has it, or with an error. */
  publish(topic: string, payload: Uint8Array, puback: (err?: Error) => void): void {
    const c = this.client;
    const stream = c?.stream as (NodeJS.WritableStream & { cork(): void; uncork(): void; writable: boolean }) | undefined;
    if (!c || !c.connected || !stream || !stream.writable) return puback(new Error("not connected"));
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
    this.waiting.set(id, puback);
    if (!this.corked) {
      this.corked = true;
      stream.cork();
      process.nextTick(() => {
        this.corked = false;
        stream.uncork();
      });
    }
    stream.write(b);
  }
}
