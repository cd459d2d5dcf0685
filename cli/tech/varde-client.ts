// The technician's side of the Varde device protocol (protocol/varde.proto) on a data port:
// Hello -> DeviceInfo (identity, firmware, versions), Command STATUS -> Status, Command MAINTENANCE.
// It speaks as a gateway would, with two rules so it never disturbs the real gateway's session state:
//  * commands go best-effort (seq 0): a reliable downlink seq would advance the device's
//    last_downlink and make it drop the gateway's next downlink as a duplicate;
//  * it never acks device messages, so the device keeps its outbox for the gateway.
// A device frame is attributed by the `device` field of its (cleartext) Envelope, then its MAC is
// checked with that device's key from the registry; a frame whose MAC fails is reported, not trusted.
import { randomInt } from "node:crypto";
import { FrameParser } from "../../protocol/framing.ts";
import { MAC_LEN } from "../../protocol/mac.ts";
import { ZERO_KEY, decodeMessage, openFrame, root, sealFrame } from "../../protocol/schema.ts";
import type { Link } from "./link.ts";

export const COMMAND = root.lookupEnum("varde.v1.CommandKind").values as Record<string, number>;
/** DeviceKind values by the names the registry uses (DEVICE_KIND_ALARM -> "alarm"), from varde.proto. */
export const KIND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(root.lookupEnum("varde.v1.DeviceKind").values).map(([k, v]) => [v, k.slice(12).toLowerCase()]),
);

/** A device envelope, attributed and (when the key was known) authenticated. */
export interface DeviceFrame {
  env: any;
  /** true: MAC checked with the registry key; false: key unknown or MAC wrong (see `problem`) */
  verified: boolean;
  problem?: string;
}

export type KeyLookup = (id: number) => Uint8Array | undefined;

export class VardeClient {
  private parser: FrameParser;
  private waiters: Array<(f: DeviceFrame) => boolean> = [];
  readonly boot = randomInt(1, 0x7fffffff);
  /** frames that failed the MAC check (wrong key or corrupt) */
  badMacs = 0;
  /** printable text seen between frames (firmware debug output, a REPL banner) */
  noise = "";

  constructor(private link: Link, private keys: KeyLookup) {
    this.parser = new FrameParser(
      (body) => this.onBody(body),
      (bytes) => {
        if (this.noise.length < 4096) this.noise += Buffer.from(bytes).toString("latin1");
      },
    );
    link.onData((chunk) => this.parser.push(new Uint8Array(chunk)));
  }

  private onBody(body: Uint8Array): void {
    if (body.length <= MAC_LEN) return;
    let env: any;
    try {
      env = decodeMessage("Envelope", body.subarray(0, body.length - MAC_LEN));
    } catch {
      return; // not a Varde envelope: line noise that happened to pass the CRC
    }
    const key = this.keys(env.device);
    let frame: DeviceFrame;
    if (!key) frame = { env, verified: false, problem: `device id ${env.device} is not in the registry` };
    else {
      const opened = openFrame(key, body);
      if (opened) frame = { env: opened, verified: true };
      else {
        this.badMacs++;
        frame = { env, verified: false, problem: `device ${env.device} answered with a MAC that does not match its registry key (the device holds another key: re-flash it, or use the registry it was provisioned with)` };
      }
    }
    this.waiters = this.waiters.filter((w) => !w(frame));
  }

  /** Waits for the first device frame `accept` takes (returns non-undefined), resending `send` every `every` ms. */
  private request<T>(send: () => void, accept: (f: DeviceFrame) => T | undefined, timeoutMs: number, every = 1000): Promise<T | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (v: T | undefined) => {
        if (done) return;
        done = true;
        clearInterval(timer);
        clearTimeout(deadline);
        resolve(v);
      };
      this.waiters.push((f) => {
        if (done) return true;
        const v = accept(f);
        if (v === undefined) return false;
        finish(v);
        return true;
      });
      const timer = setInterval(send, every);
      const deadline = setTimeout(() => finish(undefined), timeoutMs);
      send();
    });
  }

  /** Session start: Hello (sealed with the all-zero key) until a DeviceInfo echoing our nonce arrives. */
  hello(timeoutMs = 5000): Promise<DeviceFrame | undefined> {
    const nonce = randomInt(1, 0x7fffffff);
    return this.request(
      () => {
        const now = Math.floor(Date.now() / 1000);
        this.link.write(sealFrame(ZERO_KEY, { device: 0, boot: this.boot, time: now, hello: { nonce, gatewayTime: now } }));
      },
      (f) => (f.env.info && f.env.info.nonce === nonce ? f : undefined),
      timeoutMs,
    );
  }

  private command(id: number, kind: number, arg = 0): void {
    const key = this.keys(id);
    if (!key) throw new Error(`device ${id} is not in the registry: its key is needed to send it a command`);
    this.link.write(sealFrame(key, { device: id, boot: this.boot, seq: 0, time: Math.floor(Date.now() / 1000), command: { kind, arg } }));
  }

  /** Command STATUS until a Status arrives. */
  status(id: number, timeoutMs = 5000): Promise<DeviceFrame | undefined> {
    return this.request(
      () => this.command(id, COMMAND.COMMAND_STATUS),
      (f) => (f.env.device === id && f.env.status ? f : undefined),
      timeoutMs,
    );
  }

  /** Command MAINTENANCE: the firmware moves its console (REPL) back onto this port. */
  maintenance(id: number): void {
    this.command(id, COMMAND.COMMAND_MAINTENANCE);
  }

  close(): void {
    this.waiters = [];
  }
}
