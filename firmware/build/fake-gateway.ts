// A minimal gateway double for firmware tests (Node): parses the device's frames with the real framing,
// checks the MAC with protocol/schema.ts (the gateway's codec, so both codecs are exercised), records
// the envelopes, acks reliable ones when asked, and builds downlink frames (Hello with the zero key).
import { FrameParser } from "../../protocol/framing.ts";
import { sealFrame, openFrame, ZERO_KEY } from "../../protocol/schema.ts";

export class FakeGateway {
  key: Uint8Array;
  parser: FrameParser;
  /** every envelope received, in order */
  got: any[];
  /** frame lengths seen (bytes on the wire) */
  sizes: number[];
  badMac: number;
  autoAck: boolean;
  /** frames to send back to the device (ack replies when autoAck) */
  replies: Uint8Array[];
  downSeq: number;

  constructor(key: Uint8Array, autoAck = true) {
    this.key = key;
    this.got = [];
    this.sizes = [];
    this.badMac = 0;
    this.autoAck = autoAck;
    this.replies = [];
    this.downSeq = 0;
    this.parser = new FrameParser((body) => {
      const env = openFrame(this.key, body);
      if (!env) {
        this.badMac++;
        return;
      }
      this.sizes.push(body.length + 5);
      this.got.push(env);
      if (this.autoAck && env.seq) this.replies.push(this.frame({ ack: env.seq }));
    });
  }

  /** Feeds bytes the device wrote. */
  feed(chunks: Uint8Array[]): void {
    for (const c of chunks) this.parser.push(c);
  }

  /** A downlink frame sealed with the device key. */
  frame(env: any): Uint8Array {
    return sealFrame(this.key, env);
  }

  /** A Hello frame, sealed with the all-zero key as the real gateway does. */
  hello(nonce: number, gatewayTime: number): Uint8Array {
    return sealFrame(ZERO_KEY, { hello: { nonce, gatewayTime } });
  }

  /** A reliable downlink with the next gateway seq. */
  reliable(env: any): Uint8Array {
    this.downSeq++;
    return this.frame(Object.assign({ seq: this.downSeq }, env));
  }

  /** Envelopes received that carry the given body member. */
  with(member: string): any[] {
    return this.got.filter((e) => e[member] !== undefined && e[member] !== null);
  }

  /** Distinct reliable (boot, seq) pairs received with the given member. */
  distinct(member: string): any[] {
    const seen = new Set<string>();
    const out: any[] = [];
    for (const e of this.with(member)) {
      const k = e.boot + ":" + e.seq;
      if (!seen.has(k)) {
        seen.add(k);
        out.push(e);
      }
    }
    return out;
  }
}
