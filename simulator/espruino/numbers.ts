// Numbers as Espruino 2v29 turns them into text: a port of ftoa_bounded_extra() (src/jsutils.c), which
// prints at most 11 fractional digits and no shortest-round-trip form ("0.3" for 0.1 + 0.2,
// "123456789.12299999594" for 123456789.123, "10e+20" for 1e21), and of itostr() for integers that fit
// a JsVarInt (int32). The simulator uses it wherever the program converts a number explicitly:
// String(n), n.toString(radix), n.toFixed(d), JSON.stringify, print/console.log, Array join.
// NOT covered: implicit conversion inside V8 ("" + n, `${n}`), which gives V8's shortest form. Integers
// print the same either way; a firmware that formats non-integers implicitly sees V8's digits here.

const STOP_AT_ERROR = 0.0000001;

/** C's (int)x on x86 for a double: truncation, INT_MIN when out of range (cvttsd2si). */
function cInt(x: number): number {
  if (!(x > -2147483649 && x < 2147483648)) return -2147483648;
  return x < 0 ? Math.ceil(x) : Math.floor(x);
}

function digit(v: number): string {
  return v < 10 ? String.fromCharCode(48 + v) : String.fromCharCode(97 + v - 10);
}

/** ftoa_bounded_extra(val, radix, fractionalDigits): fractionalDigits < 0 = as many as useful (max 11). */
export function espruinoFtoa(value: number, radix = 10, fractionalDigits = -1): string {
  let val = value;
  if (Number.isNaN(val)) return "NaN";
  if (!Number.isFinite(val)) return val < 0 ? "-Infinity" : "Infinity";
  let out = "";
  if (val < 0) {
    out += "-";
    val = -val;
  }
  let exponent = 0;
  if (radix === 10 && val > 0 && fractionalDigits < 0) {
    if (val >= 1e21) {
      while (val > 100000) {
        val /= 100000;
        exponent += 5;
      }
      while (val > 10) {
        val /= 10;
        exponent++;
      }
    } else if (val < 1e-6) {
      while (val < 1e-5) {
        val *= 100000;
        exponent -= 5;
      }
      while (val < 1) {
        val *= 10;
        exponent--;
      }
    }
  }
  // really close to an integer? use that
  if (cInt(val + STOP_AT_ERROR) === 1 + cInt(val)) val = 1 + cInt(val);
  let d = 1;
  while (d * radix <= val) d *= radix;
  while (d >= 1) {
    const v = cInt(val / d);
    val -= v * d;
    out += digit(v);
    d /= radix;
  }
  if ((fractionalDigits < 0 && val > 0) || fractionalDigits > 0) {
    let hasPt = false;
    val *= radix;
    while ((fractionalDigits < 0 && fractionalDigits > -12 && val > STOP_AT_ERROR) || fractionalDigits > 0) {
      let v = cInt(val + (fractionalDigits === 1 ? 0.5 : 0.00000001));
      val = (val - v) * radix;
      if (v === radix) v = radix - 1;
      if (!hasPt) {
        hasPt = true;
        out += ".";
      }
      out += digit(v);
      fractionalDigits--;
    }
  }
  if (exponent) out += "e" + (exponent > 0 ? "+" : "") + String(exponent);
  return out;
}

/** How Espruino prints a number (jsvGetString): int32 values as integers, anything else through ftoa. */
export function espruinoNumberToString(n: number, radix = 10): string {
  if (Number.isInteger(n) && n >= -2147483648 && n <= 2147483647) {
    if (Object.is(n, -0)) return "0";
    return n.toString(radix);
  }
  return espruinoFtoa(n, radix, -1);
}

/** Number.prototype.toFixed on Espruino (decimals clamped to 0..20, no exponent form). */
export function espruinoToFixed(n: number, decimals: number): string {
  let d = Math.trunc(Number(decimals) || 0);
  if (d < 0) d = 0;
  if (d > 20) d = 20;
  return espruinoFtoa(n, 10, d);
}

/** Math.round on Espruino: half away from zero (x + 0.5 truncated), -0 kept. */
export function espruinoRound(x: number): number {
  if (!Number.isFinite(x) || Object.is(x, -0)) return x;
  const y = x + (x < 0 ? -0.5 : 0.5);
  const i = y < 0 ? Math.ceil(y) : Math.floor(y);
  if (i === 0 && y < 0) return -0;
  return i;
}

function chtod(c: string): number {
  const x = c.charCodeAt(0);
  if (x >= 48 && x <= 57) return x - 48;
  if (x >= 97 && x <= 122) return x - 97 + 10;
  if (x >= 65 && x <= 90) return x - 65 + 10;
  return -1;
}

/**
 * stringToFloatWithRadix() of Espruino: the naive digit-by-digit conversion its lexer (number literals
 * with "." or an exponent), parseFloat, Number() and JSON.parse use. It is not correctly rounded:
 * "123.456e10" gives 1234559999999.9998, not 1234560000000. Returns the value and where it stopped.
 */
export function espruinoStringToFloat(text: string, forceRadix = 0): { value: number; end: number } {
  let i = 0;
  while (i < text.length && /\s/.test(text[i])) i++;
  let neg = false;
  if (text[i] === "-") {
    neg = true;
    i++;
  } else if (text[i] === "+") i++;
  const start = i;
  let radix = forceRadix;
  if (!radix) {
    radix = 10;
    if (text[i] === "0") {
      const p = (text[i + 1] ?? "").toLowerCase();
      if (p === "x") (radix = 16), (i += 2);
      else if (p === "b") (radix = 2), (i += 2);
      else if (p === "o") (radix = 8), (i += 2);
    }
  }
  let v = 0;
  let mul = 0.1;
  let any = false;
  while (i < text.length) {
    const dgt = chtod(text[i]);
    if (dgt < 0 || dgt >= radix) break;
    v = v * radix + dgt;
    i++;
    any = true;
  }
  if (radix === 10) {
    if (text[i] === ".") {
      i++;
      while (i < text.length && text[i] >= "0" && text[i] <= "9") {
        v += mul * (text.charCodeAt(i) - 48);
        mul /= 10;
        i++;
        any = true;
      }
    }
    if (any && (text[i] === "e" || text[i] === "E")) {
      i++;
      let eneg = false;
      if (text[i] === "-" || text[i] === "+") {
        eneg = text[i] === "-";
        i++;
      }
      let e = 0;
      while (i < text.length && text[i] >= "0" && text[i] <= "9") {
        e = e * 10 + (text.charCodeAt(i) - 48);
        i++;
      }
      if (eneg) e = -e;
      for (; e > 0; e--) v *= 10;
      for (; e < 0; e++) v /= 10;
    }
  }
  if (!any) return { value: NaN, end: start };
  return { value: neg ? -v : v, end: i };
}
