// The real-interpreter harness itself (test/support/espruino.ts): runs, flash, boot, telnet, a UART pty.
import * as net from "node:net";
import { afterAll, expect, it } from "vitest";
import { openSerialLinkEnd } from "../../simulator/links/pty.ts";
import { describeEspruino, EspruinoSandbox, openInterpreterPty, cleanConsole, jsString } from "../support/espruino.ts";
import { until } from "../support/wait.ts";

it("cleanConsole drops the banner, prompts and erase sequences", () => {
  const raw = " ____\r\n 2v29 (c) 2026\r\nhttp://espruino.com/Donate\r\n\r\nhello\r\n>\r\x1b[Jlater\r\n>";
  expect(cleanConsole(raw)).toBe("hello\nlater\n");
});

it("jsString writes any byte as a latin1 literal", () => {
  expect(jsString(new Uint8Array([0, 0x22, 0x5c, 0x41, 0xff]))).toBe('"\\x00\\"\\\\A\\xff"');
});

describeEspruino("real Espruino harness", () => {
  const boxes: EspruinoSandbox[] = [];
  afterAll(async () => {
    for (const b of boxes) await b.dispose();
  });
  const sandbox = async (build: "nrf52" | "esp32" | "linux") => {
    const b = await EspruinoSandbox.create(build);
    boxes.push(b);
    return b;
  };

  it("runs a program until its timers are done, on each build", async () => {
    for (const build of ["nrf52", "esp32", "linux"] as const) {
      const box = await sandbox(build);
      const r = await box.run('print(process.memory().total); setTimeout(function () { print("timer"); }, 10);');
      expect(r.code).toBe(0);
      expect(r.output).toMatch(/^\d+\ntimer\n$/);
      if (build === "nrf52") expect(r.output).toBe("2630\ntimer\n");
      if (build === "esp32") expect(r.output).toBe("16383\ntimer\n");
    }
  });

  it("reports an uncaught top-level error (status 1) and a timeout", async () => {
    const box = await sandbox("nrf52");
    const r = await box.run("print(1); undefinedThing();");
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/^1\nUncaught ReferenceError: "undefinedThing" is not defined/);
    const t = await box.run("setInterval(function () {}, 1000);", { timeoutMs: 500 });
    expect(t.timedOut).toBe(true);
  });

  it("writes Storage files with any bytes, reads them back and lists them; each sandbox has its own flash", async () => {
    const box = await sandbox("nrf52");
    const big = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff);
    await box.writeStorage({ "bin": new Uint8Array([0, 255, 10, 13, 34, 92]), "big": big, "varde.id": '{"id":1}' });
    expect(await box.readStorage("bin")).toEqual(new Uint8Array([0, 255, 10, 13, 34, 92]));
    expect(await box.readStorage("big")).toEqual(big);
    expect(await box.readStorage("nothing")).toBeUndefined();
    expect((await box.listStorage()).sort()).toEqual(["big", "bin", "varde.id"]);
    const other = await sandbox("nrf52");
    expect(await other.listStorage()).toEqual([]);
  });

  it("boots from flash like a board after reset, takes console lines, and a kill is a power cut", async () => {
    const box = await sandbox("nrf52");
    await box.writeStorage({ ".bootcde": "var n = 6; print('booted'); function onInit() { print('init'); }" });
    const dev = await box.boot();
    await dev.waitFor("init");
    expect(dev.output).toMatch(/booted\n(Running onInit\(\)\.\.\.\n)?init\n/);
    expect(await dev.exec("print(n * 7)")).toBe("42\n");
    expect(await dev.exec("nope()")).toMatch(/^Uncaught ReferenceError: "nope" is not defined/);
    expect(await dev.exec("require('Storage').write('after', 'x')")).toBe("");
    await dev.kill();
    expect(dev.running).toBe(false);
    expect(await box.readStorage("after")).toEqual(new Uint8Array([0x78]));
  });

  it("serves its console over telnet on a free port of its own", async () => {
    const box = await sandbox("nrf52");
    await box.writeStorage({ ".bootcde": "var n = 41;" });
    const dev = await box.boot({ telnet: true });
    expect(dev.telnetPort).toBeGreaterThan(0);
    const s = net.connect(dev.telnetPort!, "127.0.0.1");
    let got = "";
    s.on("data", (d) => (got += d.toString("latin1")));
    await new Promise((r) => s.once("connect", r));
    // the interpreter polls its telnet socket; say something until it answers
    await until(() => {
      if (!/42/.test(got)) s.write("print(n+1)\n");
      return /42/.test(got);
    }, 20_000, "the telnet console to answer print(n+1)", 300);
    s.destroy();
    await dev.kill();
  });

  it("opens Serial1 on a pseudo-terminal whose other end the test holds", async () => {
    const box = await sandbox("nrf52");
    const pty = await openInterpreterPty(box.dir);
    const host = await openSerialLinkEnd(pty.hostPath);
    let fromDevice = "";
    host.link.onData((b) => (fromDevice += Buffer.from(b).toString("latin1")));
    const dev = await box.boot();
    await dev.exec(`Serial1.setup(115200, { path: ${jsString(pty.devicePath)} }); Serial1.on("data", function (d) { Serial1.write("<" + d + ">"); });`);
    host.link.write(new Uint8Array(Buffer.from("ping")));
    await until(() => fromDevice.includes(">"), 20_000, "the interpreter to echo on Serial1");
    expect(fromDevice).toMatch(/^<p.*>/);
    host.link.close();
    await dev.kill();
    await pty.close();
  });
});
