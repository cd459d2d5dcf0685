import { describe, it, expect } from "vitest";
import { mqttHint } from "./backend.ts";

describe("MQTT connection errors tell a person what to check", () => {
  it("names the config keys for refused connections, certificate and credential errors", () => {
    expect(mqttHint(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1883"), { code: "ECONNREFUSED" }))).toMatch(/\[mqtt\] url/);
    expect(mqttHint(new Error("self-signed certificate in certificate chain"))).toMatch(/\[mqtt\] ca/);
    expect(mqttHint(new Error("Hostname/IP does not match certificate's altnames"))).toMatch(/host name is in the certificate/);
    expect(mqttHint(new Error("Connection refused: Bad User Name or Password"))).toMatch(/username\/password/);
    expect(mqttHint(new Error("Connection refused: Not authorized"))).toMatch(/cert\/key/);
    expect(mqttHint(new Error("something else"))).toBe("");
  });
});
