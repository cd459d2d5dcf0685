import { describe, it, expect } from "vitest";
import * as vm from "node:vm";
import { EspruinoConsole, HIGH_WATER, XOFF, XON } from "./console.ts";
import { isCompleteInput } from "./complete.ts";
import { espruinoRepr } from "./repr.ts";

function setup() {
  let out = "";
  const tasks: Array<() => void> = [];
  const ctx = vm.createContext({});
  const con = new EspruinoConsole({ evaluate: (c) => vm.runInContext(c, ctx) }, (s) => (out += s), (fn) => tasks.push(fn));
  (ctx as Record<string, unknown>).print = (...a: unknown[]) => con.print(a.join(" ") + "\n");
  const run = () => {
    while (tasks.length) tasks.shift()!();
  };
  const type = (s: string) => {
    con.input(s);
    run();
    const o = out;
    out = "";
    return o;
  };
  return { con, ctx, type };
}

describe("EspruinoConsole", () => {
  it("echoes a typed line, prints =value and the prompt", () => {
    const { type } = setup();
    expect(type("1+2\r")).toBe("1+2\r\n=3\r\n>");
    expect(type("\n")).toBe(""); // LF right after CR is part of the same newline
    expect(type("\n")).toBe("\r\n=undefined\r\n>"); // what the CLI's prompt detection expects
  });

  it("runs \\x10 lines without echo or =value, only their output", () => {
    const { type } = setup();
    type("\n");
    expect(type('\x10print("<","<<",JSON.stringify({a:1}),">>",">")\n')).toBe('\r \r< << {"a":1} >> >\r\n>');
    expect(type('\x10var x = 5\n')).toBe("");
    expect(type("x\n")).toBe("x\r\n=5\r\n>");
  });

  it("waits for a complete statement; Alt-Enter and line-number escapes do not run the line", () => {
    const { type, ctx } = setup();
    type("\x10function f(a) {\n");
    type("\x1b[2d  return a * 2;\x1b\n");
    type("}\n");
    expect((ctx as Record<string, (n: number) => number>).f(4)).toBe(8);
  });

  it("reports an uncaught exception the way the CLI greps for it", () => {
    const { type } = setup();
    expect(type("\x10nosuch()\n")).toContain("Uncaught ReferenceError: nosuch is not defined");
  });

  it("Ctrl-C clears a pending line and is silent on an empty one", () => {
    const { type } = setup();
    type("\n");
    expect(type("\x03")).toBe("");
    type("\x10function g() {\n");
    type("\x03");
    expect(type("\x10typeof g\n")).toBe("");
    expect(type("typeof g\n")).toContain('="undefined"');
  });

  it("backspace edits the line", () => {
    const { type } = setup();
    expect(type("12\x7f3\r")).toBe("12\x08 \x083\r\n=13\r\n>");
  });

  it("sends XOFF past the high-water mark and XON once drained, losing nothing", () => {
    let out = "";
    const tasks: Array<() => void> = [];
    const ctx = vm.createContext({ n: 0 });
    const con = new EspruinoConsole({ evaluate: (c) => vm.runInContext(c, ctx) }, (s) => (out += s), (fn) => tasks.push(fn));
    const line = "\x10n++\n";
    const count = Math.ceil((HIGH_WATER * 2) / line.length);
    con.input(line.repeat(count));
    expect(out).toBe(XOFF);
    while (tasks.length) tasks.shift()!();
    expect(out.endsWith(XON) || out.includes(XON)).toBe(true);
    expect((ctx as { n: number }).n).toBe(count);
  });
});

describe("isCompleteInput / espruinoRepr", () => {
  it("decides completeness like Espruino's bracket count", () => {
    expect(isCompleteInput("1+2")).toBe(true);
    expect(isCompleteInput("if (a) {")).toBe(false);
    expect(isCompleteInput('"abc')).toBe(false);
    expect(isCompleteInput("/* x")).toBe(false);
    expect(isCompleteInput('write("a{",0)')).toBe(true);
    expect(isCompleteInput(")))")).toBe(true); // a syntax error runs (and reports) instead of waiting
  });

  it("shows values as the REPL does", () => {
    expect(espruinoRepr(undefined)).toBe("undefined");
    expect(espruinoRepr("a")).toBe('"a"');
    expect(espruinoRepr([1, { a: 2, "b-c": 3 }])).toBe('[ 1, { a: 2, "b-c": 3 } ]');
    expect(espruinoRepr(new Uint8Array([1, 2]))).toBe("new Uint8Array([1, 2])");
  });
});
