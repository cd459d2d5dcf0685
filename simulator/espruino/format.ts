// How Espruino prints values on its console (print, console.log, "Uncaught ..."), approximately:
// strings raw at the top level, objects as JSON-like text with spaces, errors as "Name: message".

export function formatValue(v: unknown, top = true, depth = 0): string {
  if (typeof v === "string") return top ? v : JSON.stringify(v);
  if (v === undefined) return "undefined";
  if (v === null || typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "function") return "function () { ... }";
  if (depth > 4) return "...";
  if (isErrorLike(v)) return errorText(v);
  if (ArrayBuffer.isView(v)) {
    const tag = Object.prototype.toString.call(v).slice(8, -1);
    const a = Array.prototype.slice.call(v as unknown as ArrayLike<number>, 0, 64);
    return `new ${tag}([${a.join(", ")}${(v as unknown as ArrayLike<number>).length > 64 ? ", ..." : ""}])`;
  }
  if (Array.isArray(v)) return v.length ? "[ " + v.map((x) => formatValue(x, false, depth + 1)).join(", ") + " ]" : "[  ]";
  if (typeof v === "object") {
    const keys = Object.keys(v as object);
    if (!keys.length) return "{  }";
    return "{ " + keys.map((k) => JSON.stringify(k) + ": " + formatValue((v as Record<string, unknown>)[k], false, depth + 1)).join(", ") + " }";
  }
  return String(v);
}

function isErrorLike(v: unknown): v is { name?: string; message: string } {
  return !!v && typeof v === "object" && Object.prototype.toString.call(v) === "[object Error]";
}

export function errorText(e: unknown): string {
  if (isErrorLike(e)) return `${e.name || "Error"}: ${e.message}`;
  return formatValue(e, false);
}

/** The console line Espruino prints for an exception nobody caught. */
export function uncaughtText(e: unknown): string {
  let s = "Uncaught " + errorText(e);
  const stack = isErrorLike(e) ? (e as { stack?: string }).stack : undefined;
  if (stack) {
    // frames of the firmware only (not the simulator's own host code or dispatch glue)
    const at = stack
      .split("\n")
      .filter((l) => /^\s+at /.test(l) && !/\.ts:\d|node:|evalmachine|varde-dispatch|\(native\)/.test(l))
      .slice(0, 3);
    if (at.length) s += "\n" + at.map((l) => " " + l.trim()).join("\n");
  }
  return s;
}
