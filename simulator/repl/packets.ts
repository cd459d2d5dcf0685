// Espruino's binary packet protocol on the console (2v25+), used by newer tools (EspruinoTools'
// Connection.espruinoEval / espruinoSendFile / espruinoReceiveFile, the Web IDE's file upload):
//   DLE SOH | flags (2 bytes, big-endian: type in the top 3 bits, data length in the low 13) | data
//   types: RESPONSE 0x0000, EVAL 0x2000, EVENT 0x4000, FILE_SEND 0x6000, DATA 0x8000, FILE_RECV 0xA000
// The device answers ACK (0x06) or NAK (0x15) to each packet; EVAL is then answered with a RESPONSE
// packet holding the JSON of the value; FILE_SEND {"fn","s"} opens a Storage file of s bytes that the
// following DATA packets fill in order; FILE_RECV {"fn"} is answered with DATA packets and an empty DATA
// packet at the end. Compressed uploads ("c":1, heatshrink) and SD-card files ("fs":1) are refused (NAK).
// Storage access goes through the console's evaluate hook, so it is the device's own Storage module.

export const DLE = "\x10";
export const SOH = "\x01";
export const ACK = "\x06";
export const NAK = "\x15";
export const PT = { RESPONSE: 0x0000, EVAL: 0x2000, EVENT: 0x4000, FILE_SEND: 0x6000, DATA: 0x8000, FILE_RECV: 0xa000 } as const;
const CHUNK = 1024;

/** One packet as bytes (a string of byte-chars). */
export function packet(type: number, data: string): string {
  if (data.length > 0x1fff) throw new Error(`packet data of ${data.length} bytes (max 8191)`);
  const flags = type | data.length;
  return DLE + SOH + String.fromCharCode((flags >> 8) & 0xff, flags & 0xff) + data;
}

const b64 = (s: string) => Buffer.from(s, "latin1").toString("base64");

export class PacketHandler {
  private header = "";
  private data = "";
  private need = -1;
  private upload: { fn: string; size: number; offset: number } | null = null;

  constructor(
    private evaluate: (code: string) => unknown,
    private out: (bytes: string) => void,
  ) {}

  /** Feeds one byte after DLE SOH; returns true once the packet is complete (and handled). */
  feed(ch: string): boolean {
    if (this.need < 0) {
      this.header += ch;
      if (this.header.length < 2) return false;
      this.need = ((this.header.charCodeAt(0) << 8) | this.header.charCodeAt(1)) & 0x1fff;
    } else this.data += ch;
    if (this.data.length < this.need) return false;
    const type = ((this.header.charCodeAt(0) << 8) & 0xe000);
    const data = this.data;
    this.header = "";
    this.data = "";
    this.need = -1;
    this.handle(type, data);
    return true;
  }

  private handle(type: number, data: string): void {
    try {
      switch (type) {
        case PT.EVAL: {
          const v = this.evaluate(data);
          this.out(ACK);
          this.out(packet(PT.RESPONSE, v === undefined ? "undefined" : JSON.stringify(v)));
          return;
        }
        case PT.EVENT:
          JSON.parse(data);
          this.out(ACK);
          return;
        case PT.FILE_SEND: {
          const o = JSON.parse(data) as { fn?: unknown; s?: unknown; fs?: unknown; c?: unknown };
          if (typeof o.fn !== "string" || typeof o.s !== "number" || o.fs || o.c) return this.out(NAK);
          this.upload = { fn: o.fn, size: o.s, offset: 0 };
          if (o.s === 0) {
            this.evaluate(`require("Storage").write(${JSON.stringify(o.fn)},"")`);
            this.upload = null;
          }
          this.out(ACK);
          return;
        }
        case PT.DATA: {
          const u = this.upload;
          if (!u || u.offset + data.length > u.size) return this.out(NAK);
          const args = u.offset === 0 ? `,0,${u.size}` : `,${u.offset}`;
          this.evaluate(`require("Storage").write(${JSON.stringify(u.fn)},atob(${JSON.stringify(b64(data))})${args})`);
          u.offset += data.length;
          if (u.offset >= u.size) this.upload = null;
          this.out(ACK);
          return;
        }
        case PT.FILE_RECV: {
          const o = JSON.parse(data) as { fn?: unknown; fs?: unknown };
          if (typeof o.fn !== "string" || o.fs) return this.out(NAK);
          const got = this.evaluate(`(function(){var c=require("Storage").read(${JSON.stringify(o.fn)});return c===undefined?undefined:btoa(c);})()`);
          this.out(ACK);
          const content = typeof got === "string" ? Buffer.from(got, "base64").toString("latin1") : "";
          for (let i = 0; i < content.length; i += CHUNK) this.out(packet(PT.DATA, content.slice(i, i + CHUNK)));
          this.out(packet(PT.DATA, ""));
          return;
        }
        default:
          return; // RESPONSE from the host side: nothing to do
      }
    } catch {
      this.out(NAK);
    }
  }
}
