import { describe, expect, it } from "vitest";
import { loadBoard } from "../hardware/boards.ts";
import { VirtualClock } from "./clock.ts";
import { SimDevice } from "./device.ts";
import { Flash } from "./flash.ts";
import { createMemoryLinkPair } from "./links/memory.ts";

const board = loadBoard("alarm-esp32");

function boot(code: string, opts: { clock?: VirtualClock; flash?: Flash } = {}) {
  const clock = opts.clock ?? new VirtualClock({ seed: 7 });
  const [devEnd, gwEnd] = createMemoryLinkPair(clock);
  const dev = new SimDevice({ board, clock, link: devEnd, flash: opts.flash });
  const fromDevice: number[] = [];
  gwEnd.onData((b) => fromDevice.push(...b));
  dev.install(code);
  dev.powerOn();
  return { clock, dev, gwEnd, fromDevice };
}

describe("SimDevice running a hand-written bundle", () => {
  it("provides the Espruino globals the firmware uses", () => {
    const { clock, dev, gwEnd, fromDevice } = boot(`
      (function () {
        var log = [];
        E.on("init", function () { log.push("init"); E.setConsole(LoopbackA); });
        setTimeout(function (a, b) { log.push("timeout " + a + b + " " + getTime()); }, 1500, "x", "y");
        var iv = setInterval(function () { log.push("tick"); }, 1000);
        setTimeout(function () { clearInterval(iv); }, 3500);
        Serial1.setup(115200);
        Serial1.on("data", function (d) { log.push("rx " + d.length + " " + d.charCodeAt(0)); Serial1.write([1, 2, 3]); Serial1.write(new Uint8Array([4])); Serial1.write("\\x05"); });
        digitalWrite(D25, 1);
        log.push("read " + digitalRead(D0));
        var u = E.toUint8Array("ab", [3], 4);
        log.push("u8 " + (u instanceof Uint8Array) + " " + u.length + " " + E.toString(u));
        var h = new Uint8Array(require("crypto").SHA256("abc"));
        log.push("sha " + h[0].toString(16) + h[31].toString(16));
        var st = require("Storage");
        st.writeJSON("cfg.json", { v: 3 });
        log.push("json " + st.readJSON("cfg.json").v + " " + st.list(/cfg/).length);
        st.write("obj", { a: [1] });
        st.write("arr", [104, 105]);
        log.push("write " + st.read("obj") + " " + st.read("arr"));
        log.push("date " + new Date().getTime() + " " + Date.now());
        log.push("rand " + (typeof E.hwRand()));
        log.push("mem " + (process.memory().total));
        Promise.resolve(5).then(function (v) { log.push("then " + v); });
        globalThis.LOG = log;
      })();
    `);
    gwEnd.write(new Uint8Array([0xf5, 0x00]));
    clock.runFor(5000);
    const log = dev.evaluate("LOG") as string[];
    expect(log).toContain("init");
    expect(log).toContain("timeout xy 1.5");
    expect(log.filter((l) => l === "tick")).toHaveLength(3);
    expect(log).toContain("rx 2 245");
    expect(log).toContain("read 1"); // active-low button idles high
    expect(log).toContain("u8 true 4 ab\x03\x04");
    expect(log).toContain("sha baad");
    expect(log).toContain("json 3 1");
    expect(log).toContain('write {"a":[1]} hi');
    expect(log).toContain("date 0 0");
    expect(log).toContain("rand number");
    expect(log).toContain("mem 16383");
    expect(log.indexOf("then 5")).toBeLessThan(log.indexOf("init")); // microtasks run right after the code that queued them
    expect(fromDevice).toEqual([1, 2, 3, 4, 5]);
    expect(dev.led("red").on).toBe(true);
    expect(dev.errors).toEqual([]);
  });

  it("fails loudly on what Espruino lacks", () => {
    const probes = [
      "new Map()", "new Set()", "new WeakMap()", "Symbol('x')", "Reflect.ownKeys({})", "new Proxy({}, {})", "BigInt(1)",
      "Array.from([1])", "Array.of(1)", "[1].at(0)", "[[1]].flat()", "[1].findLast(function(){return true})",
      "Object.freeze({})", "Object.is(1, 1)", "Object.hasOwn({}, 'a')", "Number.isInteger(1)", "Number.EPSILON.toFixed()",
      "Date.UTC(2026, 0)", "Math.trunc(1.5)", "Math.log2(8)", "' a'.trimStart()", "Promise.race([])", "Promise.resolve().finally(function(){})",
      "new TextEncoder()", "queueMicrotask(function(){})", "setImmediate(function(){})", "Uint8Array.from([1])",
    ];
    const code = "globalThis.R = [" + probes.map((p) => `(function(){ try { ${p}; return "works"; } catch (e) { return "fails"; } })()`).join(",") + "];";
    const { dev } = boot(code);
    const results = dev.evaluate("R") as string[];
    const works = probes.filter((_, i) => results[i] !== "fails");
    expect(works).toEqual([]);
    // what Espruino has still works
    expect(dev.evaluate("[1,2,3].includes(2) && 'ab'.padStart(3) === ' ab' && Object.entries({a:1}).length === 1 && parseInt('12') === 12")).toBe(true);
    expect(dev.evaluate("var s = 0; for (var x of new Uint8Array([1,2,3])) s += x; s")).toBe(6);
    expect(dev.evaluate("JSON.stringify(undefined)")).toBe("null"); // Espruino's answer
  });

  it("prints and counts uncaught errors in callbacks and promises, and keeps running", async () => {
    const { clock, dev } = boot(`
      setTimeout(function () { throw new Error("in timer"); }, 10);
      setTimeout(function () { Promise.reject(new Error("in promise")); }, 20);
      setInterval(function () { globalThis.alive = (globalThis.alive || 0) + 1; }, 100);
    `);
    clock.runFor(1000);
    await new Promise((r) => setTimeout(r, 10)); // Node reports unhandled rejections from its own loop
    expect(dev.output).toContain("Uncaught Error: in timer");
    expect(dev.output).toContain("Unhandled promise rejection");
    expect(dev.errors.map((e) => e.text)).toEqual(["Error: in timer", "Error: in promise"]);
    expect(dev.evaluate("alive")).toBe(10);
  });

  it("keeps flash and loses RAM across a power cycle; reboot emits kill and keeps device time", () => {
    const { clock, dev } = boot(`
      var st = require("Storage");
      var n = (st.readJSON("boots.json", true) || 0) + 1;
      st.writeJSON("boots.json", n);
      globalThis.ram = "set";
      setInterval(function () { globalThis.ticks = (globalThis.ticks || 0) + 1; }, 1000);
      E.on("kill", function () { st.write("killed", "y"); });
    `);
    clock.runFor(3000);
    expect(dev.evaluate("ticks")).toBe(3);
    dev.powerOff();
    expect(dev.powered).toBe(false);
    clock.runFor(3000);
    dev.powerOn();
    expect(dev.evaluate("typeof ticks")).toBe("undefined");
    expect(dev.flash.read("killed")).toBeUndefined(); // power loss: no kill event
    expect(JSON.parse(Buffer.from(dev.flash.read("boots.json")!).toString())).toBe(2);
    expect(dev.evaluate("getTime()")).toBe(0);
    clock.runFor(2000);
    dev.evaluate("E.reboot()");
    clock.runFor(0);
    expect(dev.boots).toBe(3);
    expect(dev.flash.read("killed")).toBeDefined();
    expect(dev.evaluate("getTime()")).toBe(2);
    dev.reset(); // Espruino reset(): blank interpreter, boot code not run
    expect(dev.evaluate("typeof ram")).toBe("undefined");
    expect(JSON.parse(Buffer.from(dev.flash.read("boots.json")!).toString())).toBe(3);
    expect(dev.evaluate("atob(btoa('\\xf5ok'))")).toBe("\xf5ok");
  });

  it("runs 30 days of timers in virtual time (speed is make bench's business, not asserted here)", () => {
    const { clock, dev } = boot(`
      var minutes = 0, hours = 0, days = 0;
      setInterval(function () { minutes++; }, 60000);
      function hour() { hours++; setTimeout(hour, 3600000); }
      setTimeout(hour, 3600000);
      setInterval(function () { days++; require("Storage").writeJSON("day", days); }, 86400000);
    `);
    const t0 = performance.now();
    clock.runFor(30 * 86_400_000);
    const wall = performance.now() - t0;
    expect(dev.evaluate("[minutes, hours, days]")).toEqual([43200, 720, 30]);
    console.log(`30 simulated days (43,950 timer events) in ${wall.toFixed(0)} ms wall time`);
  });

  it("applies clock drift to the device's view of time", () => {
    const clock = new VirtualClock({ seed: 1 });
    const dev = new SimDevice({ board, clock, driftPpm: 2778 }); // ~10 s/hour fast
    dev.install("setTimeout(function(){ globalThis.fired = getTime(); }, 3600000);");
    dev.powerOn();
    const start = clock.now();
    clock.runUntilTrue(() => dev.evaluate("typeof fired") === "number", 7_200_000);
    expect(dev.evaluate("fired")).toBeCloseTo(3600, 3);
    expect((clock.now() - start) / 1000).toBeCloseTo(3600 / 1.002778, 0);
  });
});

describe("Espruino's for-let trap", () => {
  it("closures made in a for (let ...) loop all see the last value, as on the device", () => {
    const code = "var fs = []; for (let i = 0; i < 3; i++) fs.push(function () { return i; }); globalThis.R = fs.map(function (f) { return f(); });";
    const { dev } = boot(code);
    expect(dev.evaluate("R")).toEqual([3, 3, 3]);
    const v8 = new SimDevice({ board, clock: new VirtualClock(), letLoops: "v8" });
    v8.install(code);
    v8.powerOn();
    expect(v8.evaluate("R")).toEqual([0, 1, 2]);
  });
});

describe("Date in the device", () => {
  it("is UTC like Espruino, whatever the host's time zone", () => {
    const saved = process.env.TZ;
    process.env.TZ = "Europe/Oslo";
    try {
      const clock = new VirtualClock();
      const dev = new SimDevice({ board, clock });
      dev.install("");
      dev.powerOn();
      dev.evaluate("setTime(Date.parse('2026-03-29T01:30:00Z') / 1000)");
      expect(dev.evaluate("[new Date().getHours(), new Date('2026-03-29T01:00:00').getTime(), new Date(2026, 2, 29, 1).getTime(), new Date().getTimezoneOffset()]")).toEqual([
        1, 1774746000000, 1774746000000, 0,
      ]);
      expect(dev.evaluate("String(new Date(0))")).toBe("Thu Jan 1 1970 00:00:00 GMT+0000"); // Espruino does not pad the day
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe("providers", () => {
  it("add globals and modules, and a provider's device can carry the console", () => {
    const wrote: string[] = [];
    const clock = new VirtualClock();
    const dev = new SimDevice({
      board,
      clock,
      providers: [
        (rt) => ({
          globals: { Radio: rt.realm.obj({ write: (s: unknown) => void wrote.push(String(s)) }) },
          modules: { extra: rt.realm.obj({ answer: 42 }) },
        }),
      ],
    });
    const typed: string[] = [];
    dev.setConsoleInputHandler((b) => typed.push(Buffer.from(b).toString("latin1")));
    dev.install(`E.setConsole(Radio); print("hello"); globalThis.A = require("extra").answer;`);
    dev.powerOn();
    expect(dev.evaluate("A")).toBe(42);
    expect(wrote).toEqual(["hello\r\n"]);
    dev.runtime!.receive("Radio", new Uint8Array([0x31]));
    expect(typed).toEqual(["1"]);
  });
});

describe("LEDs and buzzer", () => {
  it("record on/off history with times; active-low LEDs invert; power cut turns them off", () => {
    const clock = new VirtualClock({ startMs: 0 });
    const lowBoard = { ...board, pins: { ...board.pins, led_blue_active_low: true } };
    const dev = new SimDevice({ board: lowBoard, clock });
    dev.install(`digitalWrite(LED1, 1); digitalWrite(LED3, 1);
      setTimeout(function () { digitalWrite(LED1, 0); digitalWrite(LED3, 0); analogWrite(D14, 0.5, { freq: 2000 }); }, 100);
      setTimeout(function () { analogWrite(D14, 0); }, 300);`);
    dev.powerOn();
    expect([dev.led("red").on, dev.led("blue").on]).toEqual([true, false]);
    clock.runFor(500);
    expect(dev.led("red").history.map((c) => [c.time, c.state])).toEqual([[0, true], [100, false]]);
    expect(dev.led("blue").on).toBe(true);
    expect(dev.buzzer().history.map((c) => [c.time, c.state.on, c.state.freq])).toEqual([[100, true, 2000], [300, false, 0]]);
    dev.powerOff();
    expect(dev.led("blue").on).toBe(false);
  });
});

describe("pulses, battery and mains", () => {
  it("digitalPulse toggles on the clock; the battery shows in analogRead and E.getBattery", () => {
    const clock = new VirtualClock({ startMs: 0 });
    const dev = new SimDevice({ board, clock, batteryMv: 3700 });
    dev.install("digitalPulse(LED1, 1, [100, 50, 100]);");
    dev.powerOn();
    clock.runFor(1000);
    expect(dev.led("red").history.map((c) => [c.time, c.state])).toEqual([[0, true], [100, false], [150, true], [250, false]]);
    expect(dev.evaluate("analogRead(D34)")).toBeCloseTo(3700 / 2 / 3300, 6);
    expect(dev.evaluate("E.getBattery()")).toBe(47); // (3700 - 3300) / (4150 - 3300)
    dev.setBattery(3000);
    expect(dev.evaluate("E.getBattery()")).toBe(0);
  });

  it("mains presence drives its pin", () => {
    const dispenserLike = { ...board, pins: { ...board.pins, mains: "D39" } };
    const dev = new SimDevice({ board: dispenserLike, clock: new VirtualClock() });
    dev.install("globalThis.M = []; setWatch(function (e) { M.push(e.state); }, D39, { repeat: true });");
    dev.powerOn();
    dev.setMains(true);
    expect(dev.evaluate("digitalRead(D39)")).toBe(1);
    dev.setMains(false);
    dev.setMains(true);
    expect(dev.evaluate("M")).toEqual([false, true]);
  });
});

describe("timer jitter", () => {
  it("delays timers by a seeded amount, identically for the same seed", () => {
    const fire = (seed: number): number[] => {
      const clock = new VirtualClock({ seed, startMs: 0 });
      const dev = new SimDevice({ board, clock, timerJitterMs: 50 });
      const at: number[] = [];
      dev.install("setInterval(function () { tick(); }, 1000);");
      dev.powerOn();
      dev.runtime!.realm.global.tick = dev.runtime!.realm.fn(() => void at.push(clock.now()));
      clock.runFor(5000);
      return at;
    };
    const a = fire(1);
    expect(a).toEqual(fire(1));
    expect(a).not.toEqual(fire(2));
    expect(a.length).toBeGreaterThanOrEqual(4);
    a.forEach((t, i) => expect(t - (i > 0 ? a[i - 1] : 0)).toBeGreaterThanOrEqual(1000));
  });
});

describe("setWatch and the button", () => {
  it("debounces a bouncing button into one event per press, with press length from lastTime", () => {
    const { clock, dev } = boot(`
      globalThis.EV = [];
      setWatch(function (e) { EV.push([e.state, Math.round((e.time - e.lastTime) * 1000)]); }, BTN, { repeat: true, edge: "both", debounce: 30 });
      globalThis.RAW = 0;
      setWatch(function () { RAW++; }, BTN, { repeat: true, edge: "both", debounce: 0 });
    `);
    const btn = dev.button("button", { bounceMs: 8, bounceEdges: 5 });
    btn.press(400);
    clock.runFor(1000);
    const ev = dev.evaluate("EV") as Array<[boolean, number]>;
    expect(ev.map((e) => e[0])).toEqual([false, true]); // active low: pressed = 0
    expect(Math.abs(ev[1][1] - 400)).toBeLessThanOrEqual(10);
    expect(dev.evaluate("RAW") as number).toBeGreaterThan(2); // the chatter is really there
  });

  it("honours edge, repeat=false and clearWatch", () => {
    const { clock, dev } = boot(`
      globalThis.N = { once: 0, falling: 0 };
      setWatch(function () { N.once++; }, D0, { edge: "falling" });
      var id = setWatch(function () { N.falling++; }, D0, { edge: "falling", repeat: true });
      globalThis.stop = function () { clearWatch(id); };
    `);
    const btn = dev.button();
    for (let i = 0; i < 3; i++) {
      btn.press(100);
      clock.runFor(500);
    }
    dev.evaluate("stop()");
    btn.press(100);
    clock.runFor(500);
    expect(dev.evaluate("N")).toEqual({ once: 1, falling: 3 });
    expect(() => dev.evaluate("clearWatch(undefined)")).toThrow(/not allowed/);
  });
});

describe("power cut in the middle of the firmware's code", () => {
  it("cuts before the n-th flash operation: earlier writes stay, later code never runs", () => {
    const { clock, dev } = boot(`
      globalThis.save = function () {
        var st = require("Storage");
        st.write("rec", "data");
        try { st.write("idx", "1"); } catch (e) { digitalWrite(D25, 1); }
        setTimeout(function () { st.write("late", "x"); }, 10);
      };
    `);
    const disarm = dev.cutPowerAtFlashOp(2);
    expect(() => dev.evaluate("save()")).toThrow(/no power/);
    expect(dev.powered).toBe(false);
    expect(dev.flash.exists("rec")).toBe(true);
    expect(dev.flash.exists("idx")).toBe(false);
    clock.runFor(100);
    expect(dev.flash.exists("late")).toBe(false);
    expect(dev.led("red").on).toBe(false);
    expect(dev.errors).toEqual([]);
    expect(dev.powerCuts).toBe(1);
    disarm();
    dev.powerOn();
    dev.evaluate("save()");
    clock.runFor(100);
    expect(dev.flash.exists("idx") && dev.flash.exists("late")).toBe(true);
  });
});

describe("Storage limits in the device", () => {
  it("throws inside the firmware when flash is full and the data survives", () => {
    const flash = new Flash({ capacity: 2048 });
    const { dev } = boot(
      `globalThis.R = []; var st = require("Storage");
       for (var i = 0; i < 40; i++) { try { st.write("f" + i, "x".repeat(100)); R.push("ok"); } catch (e) { R.push(e.message); break; } }
       var f = st.open("log", "a");`,
      { flash },
    );
    const r = dev.evaluate("R") as string[];
    expect(r[r.length - 1]).toBe("Unable to find or create file"); // Espruino's message
    expect(r.filter((x) => x === "ok").length).toBeGreaterThan(5);
    expect(dev.evaluate("require('Storage').getFree()")).toBeLessThan(140);
  });

  it("StorageFile spans chunks", () => {
    const { dev } = boot("");
    dev.evaluate(`var f = require("Storage").open("big", "w"); for (var i = 0; i < 100; i++) f.write("line " + i + " " + "x".repeat(90) + "\\n");`);
    // three 4064-byte chunks in flash; list() shows a StorageFile once, as its first chunk ("big\x01")
    expect(dev.flash.list((n) => n.startsWith("big")).length).toBe(3);
    expect(dev.evaluate(`require("Storage").list(/^big/)`)).toEqual(["big\x01"]);
    expect(dev.evaluate(`var f = require("Storage").open("big", "r"); var n = 0, l; while ((l = f.readLine()) !== undefined) { if (l.indexOf("line " + n + " ") !== 0) throw new Error("bad line " + n); n++; } n`)).toBe(100);
    expect(dev.evaluate(`require("Storage").open("big", "r").getLength()`)).toBe(100 * 97 + 10 * 1 + 90 * 2); // "line " + digits + " " + 90 x + "\n"
  });

  it("StorageFile appends lines and reads them back after a power cycle", () => {
    const { dev } = boot("");
    dev.evaluate(`var f = require("Storage").open("events", "a"); f.write("one\\n"); f.write("two\\n");`);
    dev.powerOff();
    dev.powerOn();
    expect(dev.evaluate(`var f = require("Storage").open("events", "r"); [f.readLine(), f.readLine(), f.readLine(), f.getLength()]`)).toEqual(["one\n", "two\n", undefined, 8]);
    expect(dev.evaluate(`require("Storage").list(undefined, {sf: true})`)).toEqual(["events"]);
    expect(dev.evaluate(`require("Storage").list(/events/, {sf: false})`)).toEqual([]);
    // Espruino: opening a missing file for reading is fine, it is just empty; modes are enforced
    expect(dev.evaluate(`require("Storage").open("nothing", "r").readLine()`)).toBeUndefined();
    expect(() => dev.evaluate(`require("Storage").open("events", "a").readLine()`)).toThrow(/Can't read in this mode/);
    expect(() => dev.evaluate(`require("Storage").open("events", "r").write("x")`)).toThrow(/Can't write in this mode/);
  });
});
