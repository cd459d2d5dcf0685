// Byte-stream framing for the device link (UART and BLE alike). Shared by firmware and gateway,
// so this file is written in the Espruino subset (docs/espruino.md; checked by firmware/build).
//
// Wire format of one frame:
//   0xF5 0xA7 | len (1 byte, 1..MAX_BODY) | body (len bytes) | CRC-16/CCITT-FALSE over len+body (big-endian)
//   body = protobuf Envelope || 8-byte truncated HMAC-SHA256 (see mac.ts)
// * 0xF5 never occurs in UTF-8 text, so debug text on the same port cannot start a frame, and the
//   marker is never Espruino's REPL packet prefix 0x10 0x01.
// * A corrupt or truncated frame costs that frame only: on a bad length or CRC the parser rescans
//   from the byte after the bad frame's marker, so a frame that began inside it is still found.
//   A header whose frame is not complete yet is held only while no complete, valid frame follows it
//   in the buffer; otherwise it is dropped as a false start at once (a truncated frame or noise that
//   looks like a header must not delay the next real frame on a quiet link).
// * A false frame accepted by CRC coincidence (1 in 65536 per false header) is caught by the MAC.
// * Bytes outside frames are reported as noise (debug text) and otherwise ignored.

export const MAGIC0 = 0xf5;
export const MAGIC1 = 0xa7;
export const HEADER_LEN = 3;
export const CRC_LEN = 2;
/** Largest body; a whole frame is at most 256 bytes (DESIGN: hard cap). */
export const MAX_BODY = 256 - HEADER_LEN - CRC_LEN;
export const MAX_FRAME = HEADER_LEN + MAX_BODY + CRC_LEN;

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), over bytes[start, end). Check value of "123456789" is 0x29B1. */
export function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = crc16Step(crc, bytes[i]);
  return crc;
}

/** CRC-16/CCITT-FALSE of every 4-bit value (a nibble table: 16 entries, two steps a byte instead of
 *  eight; the interpreter on a device runs a few thousand loop steps a second). */
const NIBBLE = new Uint16Array([0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7, 0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef]);

/** One byte of CRC-16/CCITT-FALSE (also used by the firmware's flash outbox for its line checks). */
export function crc16Step(crc: number, byte: number): number {
  crc = ((crc << 4) ^ NIBBLE[((crc >> 12) ^ (byte >> 4)) & 15]) & 0xffff;
  return ((crc << 4) ^ NIBBLE[((crc >> 12) ^ byte) & 15]) & 0xffff;
}

/** Wraps a body into a frame. Throws when the body is empty or longer than MAX_BODY. */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const n = body.length;
  if (n < 1 || n > MAX_BODY) throw new Error("frame body of " + n + " bytes (allowed 1.." + MAX_BODY + ")");
  const f = new Uint8Array(HEADER_LEN + n + CRC_LEN);
  f[0] = MAGIC0;
  f[1] = MAGIC1;
  f[2] = n;
  f.set(body, HEADER_LEN);
  const crc = crc16(f, 2, HEADER_LEN + n);
  f[HEADER_LEN + n] = crc >> 8;
  f[HEADER_LEN + n + 1] = crc & 0xff;
  return f;
}

/**
 * Incremental parser. push() any chunk of bytes (Uint8Array); complete frame bodies go to onFrame,
 * bytes that belong to no frame go to onNoise (for debug logs), and counters record what was dropped.
 * Memory is bounded: the parser holds one buffer of bufSize bytes (default 2 * MAX_FRAME, what the
 * gateway uses). After a scan the buffer starts with an incomplete frame or is empty, so push() never
 * stalls: a header announcing a frame longer than the buffer can never complete and is dropped as bad
 * at once. So a device whose peer never sends frames over N bytes can use a buffer of N + one chunk
 * (an alarm button: protocol/caps.ts ALARM_RX_FRAME_MAX), and a larger buffer only takes bigger chunks.
 * view = true hands onFrame a view into the buffer (valid only during the call: no copy, which costs
 * RAM on a device); otherwise each body is a copy of its own. Without onNoise, noise is only counted.
 */
export class FrameParser {
  onFrame: (body: Uint8Array) => void;
  onNoise: ((bytes: Uint8Array) => void) | null;
  buf: Uint8Array;
  len: number;
  /** frames dropped for a bad CRC or length */
  bad: number;
  /** noise bytes seen outside frames */
  noise: number;

  view: boolean;

  constructor(onFrame: (body: Uint8Array) => void, onNoise?: ((bytes: Uint8Array) => void) | null, bufSize?: number, view?: boolean) {
    this.onFrame = onFrame;
    this.onNoise = onNoise || null;
    this.view = !!view;
    this.buf = new Uint8Array(bufSize || MAX_FRAME * 2);
    this.len = 0;
    this.bad = 0;
    this.noise = 0;
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      const room = this.buf.length - this.len;
      const take = chunk.length - off < room ? chunk.length - off : room;
      this.buf.set(chunk.subarray(off, off + take), this.len);
      this.len += take;
      off += take;
      this.scan();
    }
  }

  /** Drops everything buffered (e.g. when the link closes). */
  reset(): void {
    this.len = 0;
  }

  scan(): void {
    const b = this.buf;
    let i = 0;
    for (;;) {
      // hunt for the marker
      let m = i;
      while (m < this.len && !(b[m] === MAGIC0 && (m + 1 >= this.len || b[m + 1] === MAGIC1))) m++;
      if (m > i) this.emitNoise(i, m);
      i = m;
      if (this.len - i < HEADER_LEN) break; // need more bytes to judge
      const n = b[i + 2];
      if (n < 1 || n > MAX_BODY || HEADER_LEN + n + CRC_LEN > b.length) {
        this.bad++;
        this.emitNoise(i, i + 1);
        i += 1;
        continue;
      }
      const end = i + HEADER_LEN + n + CRC_LEN;
      if (end > this.len) {
        // Incomplete. If a complete, valid frame starts later in the buffer, this candidate was a
        // false start (noise that looked like a header, or a truncated frame): skip to that frame now
        // rather than holding it until enough bytes arrive (on a quiet link they may never come).
        const j = this.nextValid(i + 1);
        if (j < 0) break; // wait for more bytes
        this.bad++;
        this.emitNoise(i, j);
        i = j;
        continue;
      }
      const crc = crc16(b, i + 2, i + HEADER_LEN + n);
      if (crc !== ((b[end - 2] << 8) | b[end - 1])) {
        this.bad++;
        this.emitNoise(i, i + 1);
        i += 1; // rescan inside the bad frame
        continue;
      }
      // typed-array slice() returns a plain Array on Espruino: a view, or a real copy
      const view = b.subarray(i + HEADER_LEN, i + HEADER_LEN + n);
      i = end;
      this.onFrame(this.view ? view : new Uint8Array(view));
    }
    if (i > 0) {
      b.set(b.subarray(i, this.len), 0);
      this.len -= i;
    }
  }

  /** Start of the first complete frame with a good CRC at or after `from`, or -1. */
  nextValid(from: number): number {
    const b = this.buf;
    for (let j = from; j + HEADER_LEN + CRC_LEN < this.len; j++) {
      if (b[j] !== MAGIC0 || b[j + 1] !== MAGIC1) continue;
      const n = b[j + 2];
      const end = j + HEADER_LEN + n + CRC_LEN;
      if (n < 1 || n > MAX_BODY || end > this.len) continue;
      if (crc16(b, j + 2, j + HEADER_LEN + n) === ((b[end - 2] << 8) | b[end - 1])) return j;
    }
    return -1;
  }

  emitNoise(from: number, to: number): void {
    this.noise += to - from;
    if (this.onNoise) this.onNoise(new Uint8Array(this.buf.subarray(from, to)));
  }
}
