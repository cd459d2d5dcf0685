// Espruino's JSON writer and reader, ported from src/jswrap_json.c (2v29) so the simulator prints and
// stores exactly what a device does:
//  * jsfGetJSONWithCallback (espruinoJSON): JSON.stringify, Storage.writeJSON (keys without quotes when
//    they are identifiers: {id:1042,key:"abc"}), print()/console.log of objects (", " and line breaks
//    after 4 items or before nested values), typed arrays as arrays or "new Uint8Array([1, 2])".
//  * jswrap_json_parse_internal (espruinoJSONParse): JSON.parse and Storage.readJSON, a parser over the
//    JavaScript lexer: single quotes, hex numbers, trailing commas and text after the value are accepted;
//    "{id:1}" is rejected by JSON.parse ("Got ID:id expected STRING") and accepted by readJSON.
// Strings are byte strings (8-bit boards): \u escapes keep the low 8 bits.
import { espruinoNumberToString, espruinoStringToFloat } from "./numbers.ts";

export const JSON_FLAGS = {
  SOME_NEWLINES: 1,
  ALL_NEWLINES: 2,
  PRETTY: 4,
  LIMIT: 8,
  IGNORE_FUNCTIONS: 16,
  SHOW_DEVICES: 32,
  NO_UNDEFINED: 64,
  ARRAYBUFFER_AS_ARRAY: 128,
  SHOW_OBJECT_NAMES: 256,
  DROP_QUOTES: 512,
  PIN_TO_STRING: 1024,
  ALL_UNICODE_ESCAPE: 2048,
  NO_NAN: 4096,
  ALLOW_TOJSON: 8192,
  INDENT: 16384,
} as const;
const F = JSON_FLAGS;
const JSON_COMPATIBLE = F.PIN_TO_STRING | F.ALL_UNICODE_ESCAPE | F.NO_NAN;

/** flags of JSON.stringify */
export const STRINGIFY_FLAGS = F.IGNORE_FUNCTIONS | F.NO_UNDEFINED | F.ARRAYBUFFER_AS_ARRAY | JSON_COMPATIBLE | F.ALLOW_TOJSON;
/** flags of Storage.writeJSON: unquoted keys, \xFF escapes (not \u00FF) */
export const WRITEJSON_FLAGS = (F.DROP_QUOTES | STRINGIFY_FLAGS) & ~F.ALL_UNICODE_ESCAPE;
/** flags of print() / console.log for a non-string value */
export const PRINT_FLAGS = F.PRETTY | F.SOME_NEWLINES | F.SHOW_OBJECT_NAMES;

const ITEMS_ON_LINE_OBJECT = 4;
const HEX = "0123456789ABCDEF";

/** escapeCharacter() of jsutils.c */
function escapeChar(ch: number, next: number, jsonStyle: boolean): string {
  if (ch === 10) return "\\n";
  if (ch === 9) return "\\t";
  if (ch === 8) return "\\b";
  if (ch === 11 && !jsonStyle) return "\\v";
  if (ch === 12) return "\\f";
  if (ch === 13) return "\\r";
  if (ch === 92) return "\\\\";
  if (ch === 34) return '\\"';
  if (ch < 8 && !jsonStyle && (next < 48 || next > 55)) return "\\" + String(ch);
  if (ch < 32 || ch >= 127) {
    const u = jsonStyle || ch > 255;
    return "\\" + (u ? "u" + HEX[(ch >> 12) & 15] + HEX[(ch >> 8) & 15] : "x") + HEX[(ch >> 4) & 15] + HEX[ch & 15];
  }
  return String.fromCharCode(ch);
}

/** a string in quotes as %q (jsonStyle false) or %Q (true) print it */
export function espruinoQuote(s: string, jsonStyle: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) out += escapeChar(s.charCodeAt(i), i + 1 < s.length ? s.charCodeAt(i + 1) : -1, jsonStyle);
  return out + '"';
}

function isIDString(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s);
}

function isIntegerish(s: string): boolean {
  return /^-?(0|[1-9][0-9]*)$/.test(s);
}

const TYPED_TAGS = new Set(["Uint8Array", "Int8Array", "Uint16Array", "Int16Array", "Uint32Array", "Int32Array", "Float32Array", "Float64Array", "Uint8ClampedArray", "ArrayBuffer"]);

function tagOf(v: object): string {
  return Object.prototype.toString.call(v).slice(8, -1);
}

export interface JSONContext {
  /** names of the program's globals, to print "Name: " before an instance of a global class (SHOW_OBJECT_NAMES) */
  globalNameOf?(ctor: unknown): string | undefined;
  /** Object.prototype.toString of the device's realm (a toString that is not it gets called for instances) */
  objectToString?: unknown;
  /** Object.prototype of the device's realm: plain objects print without a name */
  objectProto?: unknown;
}

/** jsfGetJSONWithCallback: `value` written with `flags` (JSON_FLAGS), `whitespace` per indent level. */
export function espruinoJSON(value: unknown, flags: number, whitespace = "  ", ctx: JSONContext = {}): string {
  let out = "";
  const emit = (s: string) => {
    out += s;
  };
  const seen = new Set<object>();
  const newline = (fl: number) => {
    emit("\n");
    for (let i = Math.floor(fl / F.INDENT); i > 0; i--) emit(whitespace);
  };
  const needsNewLine = (v: unknown) => !(v === undefined || v === null || typeof v === "number" || typeof v === "boolean");

  const objectItems = (o: Record<string, unknown>, keys: string[], fl: number, nfl: number, first: boolean): boolean => {
    let needNewLine = false;
    let since = 0;
    for (const k of keys) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (!d) continue;
      if (!("value" in d)) continue; // getters and setters are not written
      const item = d.value;
      if ((fl & F.IGNORE_FUNCTIONS && typeof item === "function") || (fl & F.NO_UNDEFINED && item === undefined)) continue;
      since++;
      if (!first) emit(fl & F.PRETTY ? ", " : ",");
      let newNeeds = !!(fl & F.SOME_NEWLINES) && needsNewLine(item);
      if (fl & F.SOME_NEWLINES && since > ITEMS_ON_LINE_OBJECT) needNewLine = true;
      if (fl & F.ALL_NEWLINES) {
        needNewLine = true;
        newNeeds = true;
      }
      if (needNewLine || newNeeds) {
        newline(nfl);
        needNewLine = false;
        since = 0;
      }
      const quote = !(fl & F.DROP_QUOTES && (isIntegerish(k) || (k.length < 63 && isIDString(k))));
      emit((quote ? espruinoQuote(k, !!(fl & F.ALL_UNICODE_ESCAPE)) : k) + (fl & F.PRETTY ? ": " : ":"));
      first = false;
      write(item, k, nfl);
      needNewLine = newNeeds;
    }
    return needNewLine;
  };

  const write = (v: unknown, key: string | null, fl: number): void => {
    const nfl = fl + F.INDENT;
    if (v === undefined) return emit(fl & F.NO_UNDEFINED ? "null" : "undefined");
    if (v === null) return emit("null");
    if (typeof v === "boolean") return emit(String(v));
    if (typeof v === "number") {
      if (fl & F.NO_NAN && !Number.isFinite(v)) return emit("null");
      return emit(espruinoNumberToString(v));
    }
    if (typeof v === "string") return emit(espruinoQuote(v, !!(fl & F.ALL_UNICODE_ESCAPE)));
    if (typeof v === "function") {
      if (fl & F.IGNORE_FUNCTIONS) return emit("undefined");
      // Espruino prints the function's source from its tokens; the simulator shows the parameters only
      const src = Function.prototype.toString.call(v);
      const m = /^[^(]*\(([^)]*)\)/.exec(src);
      return emit("function (" + (m ? m[1].replace(/\s+/g, "") : "") + ") { ... }");
    }
    if (typeof v !== "object") return emit(String(v));
    const o = v as object;
    if (seen.has(o)) return emit(" ... ");
    seen.add(o);
    try {
      const tag = tagOf(o);
      if (Array.isArray(o)) {
        const a = o as unknown[];
        let needNewLine = false;
        emit(fl & F.PRETTY ? "[ " : "[");
        for (let i = 0; i < a.length; i++) {
          if (i > 0) emit(fl & F.PRETTY ? ", " : ",");
          const has = Object.prototype.hasOwnProperty.call(a, i);
          const item = has ? a[i] : undefined;
          let newNeeds = !!(fl & F.SOME_NEWLINES) && has && needsNewLine(item);
          if (fl & F.ALL_NEWLINES) {
            needNewLine = true;
            newNeeds = true;
          }
          if (needNewLine || newNeeds) {
            newline(nfl);
            needNewLine = false;
          }
          if (has) write(item, String(i), nfl);
          else emit(fl & F.NO_UNDEFINED ? "null" : "undefined");
          needNewLine = newNeeds;
        }
        if (fl & F.PRETTY) {
          const extra = Object.keys(a).filter((k) => !/^(0|[1-9][0-9]*)$/.test(k));
          if (extra.length) needNewLine = objectItems(a as unknown as Record<string, unknown>, extra, fl, nfl, a.length === 0) || needNewLine;
        }
        if (needNewLine) newline(fl);
        emit(fl & F.PRETTY ? " ]" : "]");
        return;
      }
      if (TYPED_TAGS.has(tag)) {
        const isBuffer = tag === "ArrayBuffer";
        const view: ArrayLike<number> = isBuffer ? new Uint8Array(o as ArrayBuffer) : (o as unknown as ArrayLike<number>);
        const asArray = !!(fl & F.ARRAYBUFFER_AS_ARRAY);
        let allZero = true;
        for (let i = 0; i < view.length; i++) if (view[i] !== 0) allZero = false;
        const name = isBuffer ? "ArrayBuffer" : tag;
        if (allZero && !asArray) return emit(`new ${name}(${view.length})`);
        emit(asArray ? "[" : `new ${isBuffer ? "Uint8Array" : name}([`);
        if (fl & F.ALL_NEWLINES) newline(nfl);
        for (let i = 0; i < view.length; i++) {
          if (i > 0) emit(fl & F.PRETTY ? ", " : ",");
          if (fl & F.ALL_NEWLINES) newline(nfl);
          write(view[i], null, nfl);
        }
        if (fl & F.ALL_NEWLINES) newline(fl);
        emit(asArray ? "]" : "])");
        if (isBuffer && !asArray) emit(".buffer");
        return;
      }
      let showContents = true;
      if (fl & F.SHOW_OBJECT_NAMES && ctx.globalNameOf) {
        const proto = Object.getPrototypeOf(o);
        const own = proto && proto !== ctx.objectProto && Object.prototype.hasOwnProperty.call(proto, "constructor");
        const name = own ? ctx.globalNameOf(proto.constructor) : undefined;
        if (name) {
          emit(name + ": ");
          const ts = (o as { toString?: unknown }).toString;
          if (typeof ts === "function" && ts !== ctx.objectToString) {
            emit(String((ts as () => unknown).call(o)));
            showContents = false;
          }
        }
      }
      if (!showContents) return;
      const toJSON = fl & F.ALLOW_TOJSON ? (o as { toJSON?: unknown }).toJSON : undefined;
      if (typeof toJSON === "function") {
        const r = (toJSON as (k: string) => unknown).call(o, key ?? "");
        if (r === o) seen.delete(o);
        write(r, null, fl & ~F.ALLOW_TOJSON);
        return;
      }
      emit(fl & F.PRETTY ? "{ " : "{");
      const need = objectItems(o as Record<string, unknown>, Object.keys(o), fl, nfl, true);
      if (need) newline(fl);
      emit(fl & F.PRETTY ? " }" : "}");
    } finally {
      seen.delete(o);
    }
  };
  write(value, null, flags);
  return out;
}

// ---- reading ---------------------------------------------------------------------------------------------

type Tok =
  | { t: "EOF" }
  | { t: "INT" | "FLOAT"; v: number }
  | { t: "STR"; v: string }
  | { t: "ID"; v: string }
  | { t: "CH"; v: string }
  | { t: "UNFINISHED"; v: string };

const RESERVED = new Set(["true", "false", "null", "undefined", "if", "else", "do", "while", "for", "break", "continue", "function", "return", "var", "let", "const", "this", "throw", "try", "catch", "finally", "switch", "case", "default", "new", "in", "instanceof", "typeof", "void", "delete", "class", "extends", "super", "static", "of"]);

class Lexer {
  pos = 0;
  tok: Tok = { t: "EOF" };
  constructor(readonly s: string) {
    this.next();
  }

  next(): void {
    const s = this.s;
    for (;;) {
      while (this.pos < s.length && /[\s]/.test(s[this.pos])) this.pos++;
      if (s.startsWith("//", this.pos)) {
        while (this.pos < s.length && s[this.pos] !== "\n") this.pos++;
        continue;
      }
      if (s.startsWith("/*", this.pos)) {
        const e = s.indexOf("*/", this.pos + 2);
        this.pos = e < 0 ? s.length : e + 2;
        continue;
      }
      break;
    }
    if (this.pos >= s.length) {
      this.tok = { t: "EOF" };
      return;
    }
    const c = s[this.pos];
    if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z0-9_$]+/.exec(s.slice(this.pos))![0];
      this.pos += m.length;
      this.tok = { t: "ID", v: m };
      return;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(s[this.pos + 1] ?? ""))) {
      const rest = s.slice(this.pos);
      let m = /^0[xX][0-9a-fA-F]+|^0[bB][01]+|^0[oO][0-7]+/.exec(rest);
      if (m) {
        this.pos += m[0].length;
        this.tok = { t: "INT", v: Number(m[0]) };
        return;
      }
      m = /^[0-9]*(\.[0-9]*)?([eE][+-]?[0-9]+)?/.exec(rest)!;
      this.pos += m[0].length;
      const isFloat = m[0].includes(".") || /[eE]/.test(m[0]);
      this.tok = isFloat ? { t: "FLOAT", v: espruinoStringToFloat(m[0]).value } : { t: "INT", v: Number(m[0]) };
      return;
    }
    if (c === '"' || c === "'" || c === "`") {
      this.pos++;
      let v = "";
      while (this.pos < s.length && s[this.pos] !== c) {
        let ch = s[this.pos];
        if (ch === "\n" && c !== "`") break;
        if (ch === "\\") {
          this.pos++;
          const e = s[this.pos] ?? "";
          const simple: Record<string, string> = { n: "\n", b: "\b", f: "\f", r: "\r", t: "\t", v: "\v" };
          if (simple[e] !== undefined) {
            ch = simple[e];
            this.pos++;
          } else if (e === "u" || e === "x") {
            const len = e === "u" ? 4 : 2;
            const hex = s.slice(this.pos + 1, this.pos + 1 + len);
            if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new JSONSyntax("Invalid escape sequence", "Error");
            ch = String.fromCharCode(parseInt(hex, 16) & 0xff);
            this.pos += 1 + len;
          } else if (e >= "0" && e <= "7") {
            let oct = e;
            this.pos++;
            while (oct.length < 3 && s[this.pos] >= "0" && s[this.pos] <= "7") oct += s[this.pos++];
            ch = String.fromCharCode(parseInt(oct, 8) & 0xff);
          } else {
            ch = e;
            this.pos++;
          }
          v += ch;
          continue;
        }
        v += ch;
        this.pos++;
      }
      if (s[this.pos] !== c) {
        this.tok = { t: "UNFINISHED", v };
        return;
      }
      this.pos++;
      this.tok = { t: "STR", v };
      return;
    }
    this.pos++;
    this.tok = { t: "CH", v: c };
  }

  /** jslTokenAsString for the current token's kind */
  kind(): string {
    const k = this.tok;
    switch (k.t) {
      case "EOF":
        return "EOF";
      case "INT":
        return "INT";
      case "FLOAT":
        return "FLOAT";
      case "STR":
        return "STRING";
      case "UNFINISHED":
        return "UNFINISHED STRING";
      case "ID":
        return RESERVED.has(k.v) ? k.v : "ID";
      case "CH":
        return `'${k.v}'`;
    }
  }

  /** jslGetTokenString: the token with its value */
  described(): string {
    const k = this.tok;
    if (k.t === "ID" && !RESERVED.has(k.v)) return "ID:" + k.v;
    if (k.t === "STR") return `String:'${k.v}'`;
    return this.kind();
  }

  isCh(c: string): boolean {
    return this.tok.t === "CH" && this.tok.v === c;
  }

  match(c: string): void {
    if (!this.isCh(c)) throw new JSONSyntax(`Got ${this.described()} expected '${c}'`);
  }
}

/** A JSON.parse failure; `cls` names the Espruino error class the device throws. */
export class JSONSyntax extends Error {
  constructor(
    message: string,
    readonly cls: "SyntaxError" | "Error" = "SyntaxError",
  ) {
    super(message);
  }
}

/** Builders for values in the device's realm. */
export interface JSONBuilders {
  array(): unknown[];
  object(): Record<string, unknown>;
}

/**
 * jswrap_json_parse_ext: parses `text`; `dropQuotes` (Storage.readJSON) also accepts unquoted keys.
 * Throws JSONSyntax; returns undefined where Espruino gives up without an exception ("-x").
 */
export function espruinoJSONParse(text: string, dropQuotes: boolean, b: JSONBuilders): unknown {
  const lex = new Lexer(text);
  const NONE = Symbol("none");
  const value = (): unknown => {
    const k = lex.tok;
    if (k.t === "ID" && k.v === "true") return lex.next(), true;
    if (k.t === "ID" && k.v === "false") return lex.next(), false;
    if (k.t === "ID" && k.v === "null") return lex.next(), null;
    if (k.t === "CH" && k.v === "-") {
      lex.next();
      const n = lex.tok;
      if (n.t !== "INT" && n.t !== "FLOAT") return NONE;
      const v = value();
      return v === NONE ? NONE : 0 - (v as number);
    }
    if (k.t === "INT" || k.t === "FLOAT" || k.t === "STR") return lex.next(), k.v;
    if (k.t === "CH" && k.v === "[") {
      const arr = b.array();
      lex.next();
      while (!lex.isCh("]")) {
        const v = value();
        if (v === NONE) return NONE;
        if (!lex.isCh("]")) {
          lex.match(",");
          lex.next();
        }
        arr.push(v);
      }
      lex.match("]");
      lex.next();
      return arr;
    }
    if (k.t === "CH" && k.v === "{") {
      const obj = b.object();
      lex.next();
      for (;;) {
        const t = lex.tok;
        if (!(t.t === "STR" || t.t === "INT" || t.t === "ID")) break;
        if (!dropQuotes && (t.t === "ID" || t.t === "INT")) throw new JSONSyntax(`Got ${lex.described()} expected STRING`);
        const key = String(t.v);
        lex.next();
        lex.match(":");
        lex.next();
        const v = value();
        if (v === NONE) return NONE;
        if (!lex.isCh("}")) {
          lex.match(",");
          lex.next();
        }
        obj[key] = v;
      }
      lex.match("}");
      lex.next();
      return obj;
    }
    throw new JSONSyntax(`Expecting valid value, got ${lex.kind()}`);
  };
  const v = value();
  return v === NONE ? undefined : v;
}
