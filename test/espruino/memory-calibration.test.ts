// The simulator's memory model (simulator/espruino/memory.ts) against the real interpreter: the same
// programs, the same process.memory().usage within 10 %, on the nRF52-sized build (2,630 JsVars) and the
// ESP32-sized one (16,383); and the firmware bundles as built, after boot.
// The figures are printed (sim vs real per program) for the record.
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildFirmware } from "../../firmware/build/index.ts";
import { describeEspruino } from "../support/espruino.ts";
import { compareBundleMemory, measureReal, measureSim, type MemoryComparison, type MemoryProgram, type SizedBuild } from "./memory-calibration.ts";

/** Representative programs; each adds only globals of its own (prefix letter), as the measurement requires. */
export const PROGRAMS: MemoryProgram[] = [
  {
    name: "globals of every kind",
    code: `var ga = 1, gb = 2047, gc = 70000, gd = -5, ge = 1.5, gf = true, gg = null, gh, gi = "x", gj = "hello world!";
var globalNameLong = 12, anotherLongGlobalName = "abc", gk = 3e9, gl = false, gm = "0123456789abcdef0123";`,
  },
  {
    name: "top-level functions with parameters",
    code: `function fa() {} function fb() { return 1; } function fc(a) { return a; } function fd(a, b) { return a + b; }
function fe(a, b, c) { return a * b * c; } function fLongerName(alpha, beta) { return alpha - beta; }
var ff = function (x) { return x * 2; }; var fg = (p, q) => p + q; function fh(first, second, third, fourth) { return first; }`,
  },
  {
    name: "closures",
    code: `function cMake(start) { var n = start; return function () { n++; return n; }; }
var ca = cMake(1), cb = cMake(10), cc = cMake(100);
function cPair(k) { var hits = 0; return { get: function () { return hits; }, hit: function () { hits += k; } }; }
var cd = cPair(2), ce = cPair(3);`,
  },
  {
    name: "module in an IIFE (bundle shape)",
    code: `var mApi = (function () {
  var state = { n: 0, last: null }, table = [3, 1, 4, 1, 5], name = "module";
  function inc(d) { state.n += d; return state.n; }
  function reset() { state.n = 0; state.last = null; }
  function read() { return state.n; }
  function remember(v) { state.last = v; }
  function size() { return table.length; }
  function label() { return name + ":" + state.n; }
  return { inc: inc, reset: reset, read: read, remember: remember, size: size, label: label };
})();`,
  },
  {
    name: "objects with short property names",
    code: `var oa = { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, id: 9, key: "k", seq: 10, ts: 1.25, ok: true, v: null, n: 0 };
var ob = { x: { y: { z: 1 } }, l: [1, 2, 3] };`,
  },
  {
    name: "objects with long property names",
    code: `var olA = { batteryMillivolts: 3700, heartbeatInterval: 3600, retransmitBase: 2000, retransmitLimit: 8, firmwareVersion: "0.2.0",
  lastAcknowledged: 0, pendingRecords: [], supervisionTimeoutSeconds: 86400, nested: { innerLongName: true, anotherField: "v" } };`,
  },
  {
    name: "strings of various lengths",
    code: `var sa = "", sb = "1", sc = "12345678", sd = "123456789", se = "12345678901234567", sf = "123456789012345678",
sg = "${"x".repeat(40)}", sh = "${"y".repeat(100)}", si = "${"z".repeat(250)}", sj = "a" + "b" + sc + sd;`,
  },
  {
    name: "typed arrays",
    code: `var ta = new Uint8Array(1), tb = new Uint8Array(16), tc = new Uint8Array(17), td = new Uint8Array(18), te = new Uint8Array(64),
tf = new Uint8Array(320), tg = new Uint16Array(10), th = new Uint32Array(8), ti = tf.subarray(10, 20), tj = new Uint8Array([1, 2, 3, 4, 5]);`,
  },
  {
    name: "arrays",
    code: `var aa = [], ab = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], ac = [1.5, 2.5, 70000, true, false, null, "s", "longer string here"],
ad = [[1, 2], [3, 4], [5, 6]], ae = [{ a: 1 }, { a: 2 }, { a: 3 }];`,
  },
  {
    name: "class instances",
    code: `var Kls = class {
  constructor(id, name) { this.id = id; this.name = name; this.count = 0; }
  inc() { this.count++; return this.count; }
  describe() { return this.name + "#" + this.id; }
  reset() { this.count = 0; }
  get double() { return this.count * 2; }
};
var ka = new Kls(1, "one"), kb = new Kls(2, "two"), kc = new Kls(3, "three"), kd = new Kls(4, "a longer name");`,
  },
  {
    name: "timers, watches and listeners",
    code: `var tmTick = 0;
setInterval(function () { tmTick++; }, 100000);
setTimeout(function () { tmTick = 0; }, 200000);
setWatch(function (e) { tmTick += e.state ? 1 : 0; }, D5, { repeat: true, edge: "both", debounce: 25 });
E.on("kill", function () { tmTick = -1; });`,
  },
  {
    name: "codec-like tables",
    code: `var cdTable = "1:seq:u32,2:ts:u32,3:kind:u8,4:payload:bytes,5:mac:bytes".split(",");
var cdKinds = { ALARM: 1, CANCEL: 2, TEST: 3, BATTERY: 4, HEARTBEAT: 5, CONFIG: 6 };
var cdBuf = new Uint8Array(96), cdView = new DataView(cdBuf.buffer);
function cdPut(v, o) { cdView.setUint32(o, v); return o + 4; }`,
  },
];

const figures: string[] = [];
afterAll(() => {
  if (figures.length) console.log("memory model calibration (JsVars, sim vs real):\n" + figures.join("\n"));
});

describeEspruino("the memory model against the real interpreter", () => {
  for (const build of ["nrf52", "esp32"] as SizedBuild[]) {
    let real: number[] = [];
    let sim: number[] = [];
    beforeAll(async () => {
      real = await measureReal(PROGRAMS, build);
      sim = measureSim(PROGRAMS, build);
      PROGRAMS.forEach((p, i) => figures.push(`  ${build.padEnd(5)} ${p.name.padEnd(38)} sim ${String(sim[i]).padStart(4)}  real ${String(real[i]).padStart(4)}  ${pct(sim[i], real[i])}`));
    }, 180_000);
    for (const [i, p] of PROGRAMS.entries()) {
      it(`${build}: ${p.name} within 10 %`, () => {
        expect(Math.abs(sim[i] - real[i]), `sim ${sim[i]}, real ${real[i]}`).toBeLessThanOrEqual(Math.max(2, 0.1 * real[i]));
      });
    }
  }

  // the firmware bundles as built, after boot (the identity written with writeJSON as `varde flash`
  // does). The serial bundles move the console to LoopbackA: a .boot0 keeps it on the terminal so the
  // figure can be read, on both sides.
  const bundles: Array<[string, SizedBuild]> = [
    ["alarm-esp32", "nrf52"],
    ["dispenser-esp32", "esp32"],
  ];
  for (const [board, build] of bundles) {
    it(`${board} bundle on the ${build} build: within 10 % after boot and a few seconds later`, async () => {
      const code = (await buildFirmware(board, { noWrite: true })).code;
      const kind = board.startsWith("alarm") ? "alarm" : "dispenser";
      const r: MemoryComparison[] = await compareBundleMemory({
        build,
        files: { ".boot0": "E.setConsole = function () {};", ".bootcde": code },
        setup: `require("Storage").writeJSON("varde.id", {id: 1001, key: "${"11".repeat(32)}", kind: "${kind}"});`,
        moments: [{ label: "after boot" }, { label: "3 s later", waitMs: 3000 }],
      });
      for (const m of r) {
        figures.push(`  ${build.padEnd(5)} ${(board + " " + m.label).padEnd(38)} sim ${String(m.sim).padStart(4)}  real ${String(m.real).padStart(4)}  ${pct(m.sim, m.real)}`);
        expect(Math.abs(m.error), `${board} ${m.label}: sim ${m.sim}, real ${m.real}`).toBeLessThanOrEqual(0.1);
      }
    }, 180_000);
  }
});

function pct(sim: number, real: number): string {
  const e = ((sim - real) / real) * 100;
  return (e >= 0 ? "+" : "") + e.toFixed(1) + " %";
}
