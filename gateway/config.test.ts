import { describe, it, expect } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig, parseConfig } from "./config.ts";

const example = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "examples", "gateway.toml");

describe("gateway.toml", () => {
  it("the documented example loads with its defaults", () => {
    const c = loadConfig(example);
    expect(c.gatewayId).toBe("home-gw-1");
    expect(c.transports).toEqual([{ type: "serial", path: "/dev/varde-alarm-1", baud: 115200 }]);
    expect(c.mqtt.url).toBeUndefined();
    expect(c.mqtt.backendAck).toBe("puback"); // embedded broker: nobody to send application acks
    expect(c.registry).toBe(path.join(path.dirname(example), "registry.toml"));
    expect(c.session.missedHeartbeats).toBe(3);
  });

  it("errors name the file, the key, the bad value and the fix", () => {
    const bad: Array<[object, RegExp]> = [
      [{ mqtt: { url: "http://x" } }, /^gw\.toml: key "mqtt\.url" = "http:\/\/x": must look like "mqtt:\/\/host:1883"/],
      [{ transport: [{ type: "tcp" }] }, /key "transport\[0\]\.port".*required/],
      [{ transport: [{ type: "usb" }] }, /key "transport\[0\]\.type" = "usb": must be one of "serial", "tcp", "tcp-listen"/],
      [{ session: { heartbeat_s: 0 } }, /key "session\.heartbeat_s" = 0: must be an integer from 1/],
      [{ mqtt: { pasword: "x" } }, /key "mqtt\.pasword" = "x": unknown key; allowed here: .*password/],
      [{ mqtt: { ca: "nope.pem" } }, /key "mqtt\.ca" = "nope\.pem": file \/tmp\/nope\.pem does not exist; fix the path/],
      [{ mqtt: { password: "x" } }, /key "mqtt\.username".*mqtt\.password is set/],
      [{ gateway_id: "a/b" }, /key "gateway_id" = "a\/b": use 1-64 letters/],
      [{ transport: [{ type: "ble" }] }, /key "transport\[0\]\.board" = undefined: is required/],
      [{ transport: [{ type: "ble", board: "alarm-nrf52", addresses: ["nope"] }] }, /key "transport\[0\]\.addresses" = \["nope"\]: must be a list of BLE addresses/],
      [{ mqtt: { url: "mqtt://h", backend_ack: "maybe" } }, /key "mqtt\.backend_ack" = "maybe": must be one of "application", "puback"/],
    ];
    for (const [doc, re] of bad) expect(() => parseConfig(doc, "gw.toml", "/tmp")).toThrow(re);
    expect(parseConfig({ mqtt: { url: "mqtts://broker:8883" } }, "gw.toml", "/tmp").mqtt.backendAck).toBe("application");
    expect(parseConfig({ transport: [{ type: "ble", board: "alarm-nrf52", addresses: ["CC:33:00:11:22:33"] }] }, "gw.toml", "/tmp").transports).toEqual([{ type: "ble", board: "alarm-nrf52", addresses: ["cc:33:00:11:22:33"] }]);
  });

  it("a missing or broken file says what to do", () => {
    expect(() => loadConfig("/nonexistent/gateway.toml")).toThrow(/\/nonexistent\/gateway\.toml: cannot read the gateway config .*pass --config/);
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "varde-cfg-")), "gateway.toml");
    fs.writeFileSync(f, "gateway_id = \n");
    expect(() => loadConfig(f)).toThrow(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: not valid TOML`));
  });
});
