import { describe, it, expect } from "vitest";
import { SimDevice, VirtualClock, createMemoryLinkPair } from "../index.ts";
import { SimRepl } from "./attach.ts";
import { ACK, NAK, PT, packet } from "./packets.ts";

function setup() {
  const clock = new VirtualClock();
  const [host, device] = createMemoryLinkPair(clock);
  const repl = new SimRepl();
  const dev = new SimDevice({ board: "alarm-esp32", clock, link: device, providers: [repl.provider] });
  repl.attach(dev);
  let out = "";
  host.onData((b) => (out += Buffer.from(b).toString("latin1")));
  const type = (s: string) => {
    host.write(new Uint8Array(Buffer.from(s, "latin1")));
    clock.runFor(50);
    const o = out;
    out = "";
    return o;
  };
  return { clock, dev, type };
}

describe("SimRepl on a simulated device's data port", () => {
  it("evaluates in the device context and prints where the firmware prints", () => {
    const { dev, type } = setup();
    dev.powerOn();
    expect(type("1+2\n")).toContain("=3\r\n>");
    expect(type('\x10print(require("Storage").getFree() > 0)\n')).toContain("true\r\n");
    expect(type("\x10print(process.env.MODULES)\n")).toContain("Storage,crypto");
  });

  it("reset() gives a fresh interpreter without boot code; load() runs the boot code", () => {
    const { dev, type } = setup();
    dev.flash.write(".bootcde", Buffer.from("var booted = 1;"));
    dev.powerOn();
    expect(type("booted\n")).toContain("=1");
    type("\x10var x = 5\n");
    expect(type("\x10reset();\n")).toContain("espruino.com");
    expect(type("typeof x + typeof booted\n")).toContain('="undefinedundefined"');
    type("\x10load()\n");
    expect(type("booted\n")).toContain("=1");
  });

  it("echo(0) silences the echo and the =value, not program output", () => {
    const { dev, type } = setup();
    dev.powerOn();
    type("echo(0)\n");
    expect(type("1+1\n")).toBe("");
    expect(type('print("hi")\n')).toContain("hi");
  });
});

describe("packets (2v25+) on the simulated console", () => {
  const pkt = (type: number, data: string) => packet(type, data);
  it("EVAL answers ACK and a RESPONSE packet; FILE_SEND + DATA write a Storage file; FILE_RECV reads it back", () => {
    const { dev, type } = setup();
    dev.powerOn();
    type("\n");
    expect(type(pkt(PT.EVAL, "1+2"))).toBe(ACK + packet(PT.RESPONSE, "3"));
    const content = "x".repeat(1500) + "\xf5\xa7\x00end";
    expect(type(pkt(PT.FILE_SEND, JSON.stringify({ fn: "up.bin", s: content.length })))).toBe(ACK);
    expect(type(pkt(PT.DATA, content.slice(0, 1024)))).toBe(ACK);
    expect(type(pkt(PT.DATA, content.slice(1024)))).toBe(ACK);
    expect(Buffer.from(dev.flash.read("up.bin")!).toString("latin1")).toBe(content);
    expect(type(pkt(PT.DATA, "more"))).toBe(NAK); // no file open any more
    expect(type(pkt(PT.FILE_RECV, JSON.stringify({ fn: "up.bin" })))).toBe(ACK + packet(PT.DATA, content.slice(0, 1024)) + packet(PT.DATA, content.slice(1024)) + packet(PT.DATA, ""));
    expect(type(pkt(PT.FILE_SEND, JSON.stringify({ fn: "c.bin", s: 4, c: 1 })))).toBe(NAK); // heatshrink: not supported
    expect(type("1+1\n")).toContain("=2"); // the console is still a console
  });
});
