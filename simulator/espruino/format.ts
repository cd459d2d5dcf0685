// The text of an exception, as Espruino prints it after "Uncaught ": a string as it is, an error through
// its toString() ("Error: boom", "TypeError: x"), anything else as JSON. (print()/console.log of values
// use Espruino's own JSON writer: semantics.ts printedValue.)

function isErrorLike(v: unknown): v is { message?: unknown; stack?: unknown } {
  if (!v || typeof v !== "object") return false;
  if (Object.prototype.toString.call(v) === "[object Error]") return true;
  // Espruino's TypeError, ReferenceError, SyntaxError are not Errors (semantics.ts): a message and a
  // toString of their own class
  const ts = (v as { toString?: unknown }).toString;
  return "message" in (v as object) && typeof ts === "function" && ts !== Object.prototype.toString && /Error/.test(String((v as { constructor?: { name?: string } }).constructor?.name));
}

export function errorText(e: unknown): string {
  if (typeof e === "string") return e;
  if (isErrorLike(e)) {
    try {
      return String(e);
    } catch {
      return "Error";
    }
  }
  try {
    const j = JSON.stringify(e);
    return j === undefined ? String(e) : j;
  } catch {
    return String(e);
  }
}

/** The console line Espruino prints for an exception nobody caught (with the firmware's own frames). */
export function uncaughtText(e: unknown): string {
  let s = "Uncaught " + errorText(e);
  const stack = isErrorLike(e) ? (e as { stack?: unknown }).stack : undefined;
  if (typeof stack === "string") {
    // frames of the firmware only (not the simulator's own host code or dispatch glue)
    const at = stack
      .split("\n")
      .filter((l) => /^\s+at /.test(l) && !/\.ts:\d|node:|evalmachine|varde-dispatch|semantics\.js|\(native\)/.test(l))
      .slice(0, 3);
    if (at.length) s += "\n" + at.map((l) => " " + l.trim()).join("\n");
  }
  return s;
}
