// Conversions between what Espruino BLE calls accept and bytes, plus UUID spelling.

/**
 * Espruino accepts a characteristic value as a string of byte-chars, an array of numbers, an ArrayBuffer
 * or a typed array. Anything else is a firmware bug, reported as such.
 */
export function espruinoToBytes(value: unknown, what: string): Uint8Array {
  if (typeof value === "string") {
    const out = new Uint8Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = value.charCodeAt(i) & 0xff;
    return out;
  }
  if (typeof value === "number") return new Uint8Array([value & 0xff]);
  // Typed arrays may come from the device's vm context, so instanceof against Node's classes is unreliable,
  // and their prototypes are Espruino's (slice gives a plain Array, ArrayBuffer has no slice): copy with
  // Node's own Uint8Array.
  if (value && typeof value === "object") {
    const v = value as { buffer?: unknown; byteOffset?: number; byteLength?: number; length?: number };
    if (ArrayBuffer.isView(value)) {
      const view = value as ArrayBufferView;
      return Uint8Array.prototype.slice.call(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    }
    if (Object.prototype.toString.call(value) === "[object ArrayBuffer]") {
      return Uint8Array.prototype.slice.call(new Uint8Array(value as ArrayBuffer));
    }
    if (Array.isArray(value)) {
      const out = new Uint8Array(value.length);
      for (let i = 0; i < value.length; i++) out[i] = Number(value[i]) & 0xff;
      return out;
    }
    if (typeof v.length === "number") {
      const arr = value as ArrayLike<number>;
      const out = new Uint8Array(arr.length);
      for (let i = 0; i < arr.length; i++) out[i] = Number(arr[i]) & 0xff;
      return out;
    }
  }
  throw new Error(`${what}: value must be a string, array, ArrayBuffer or typed array (got ${typeof value})`);
}

/**
 * Canonical UUID spelling as noble reports it: lowercase hex without dashes; 16-bit UUIDs stay 4 digits.
 * Espruino accepts "0xABCD", "abcd" or a dashed 128-bit form.
 */
export function normUuid(uuid: string): string {
  let u = String(uuid).toLowerCase().replace(/-/g, "");
  if (u.startsWith("0x")) u = u.slice(2);
  if (!/^[0-9a-f]{4}$|^[0-9a-f]{32}$/.test(u)) {
    throw new Error(`BLE UUID "${uuid}" is neither a 16-bit (e.g. "abcd") nor a 128-bit UUID`);
  }
  return u;
}
