// How the Espruino REPL shows the value of an executed line after "=" (jsfPrintJSON with
// JSON_DROP_QUOTES | JSON_PRETTY, shortened): =undefined, =3, ="text", =[ 1, 2 ], ={ a: 1, "b-c": 2 },
// =new Uint8Array([1, 2]), =function (a) { ... }. Depth and length are capped as Espruino does, so a
// huge object does not flood the console.

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function espruinoRepr(v: unknown, depth = 0): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  switch (typeof v) {
    case "number":
    case "boolean":
      return String(v);
    case "string":
      return JSON.stringify(v);
    case "function":
      return "function () { [code] }";
    case "bigint":
    case "symbol":
      return String(v);
  }
  if (depth > 3) return "...";
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const a = v as unknown as ArrayLike<number> & { constructor: { name: string } };
    const items: string[] = [];
    for (let i = 0; i < a.length && i < 64; i++) items.push(String(a[i]));
    if (a.length > 64) items.push("...");
    return `new ${a.constructor.name}([${items.join(", ")}])`;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return "[  ]";
    const items = v.slice(0, 64).map((x) => espruinoRepr(x, depth + 1));
    if (v.length > 64) items.push("...");
    return `[ ${items.join(", ")} ]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 0) return "{  }";
  const items = keys.slice(0, 64).map((k) => `${IDENT.test(k) ? k : JSON.stringify(k)}: ${espruinoRepr(o[k], depth + 1)}`);
  if (keys.length > 64) items.push("...");
  return `{ ${items.join(", ")} }`;
}
