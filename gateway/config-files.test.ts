// gateway.toml keys that name files: a wrong file is an error at start that names the key, the file and
// the fix — not an OpenSSL message at the first connection, nor EISDIR/EACCES (issue 14 item 10).
import { describe, it, expect } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfig } from "./config.ts";
import { makeTestPki } from "../test/support/mosquitto.ts";

describe("gateway.toml file keys", () => {
  const pki = makeTestPki();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-cfgf-"));
  const garbage = path.join(dir, "garbage.pem");
  fs.writeFileSync(garbage, "this is not a certificate\n");
  const tls = (m: object) => () => parseConfig({ mqtt: { url: "mqtts://broker:8883", ...m } }, "gw.toml", dir);

  it("TLS files must hold what their key says", () => {
    expect(tls({ ca: garbage })).toThrow(/^gw\.toml: key "mqtt\.ca" = ".*garbage\.pem": .*garbage\.pem is not a PEM certificate \(a file starting -----BEGIN CERTIFICATE-----\)/);
    expect(tls({ cert: pki.clientCert, key: garbage })).toThrow(/key "mqtt\.key" = .*is not an unencrypted PEM private key .*openssl pkey/);
    expect(tls({ cert: pki.clientCert, key: pki.rogueKey })).toThrow(/key "mqtt\.key" = .*rogue\.key is not the private key of the certificate .*client\.pem/);
    expect(tls({ ca: dir })).toThrow(/key "mqtt\.ca" = .*is a directory; give the path of the PEM file holding the certificate/);
    expect(tls({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey })().mqtt.cert).toBe(pki.clientCert);
  });

  it.skipIf(process.getuid?.() === 0)("an unreadable key file names the permission fix", () => {
    const locked = path.join(dir, "locked.key");
    fs.copyFileSync(pki.clientKey, locked);
    fs.chmodSync(locked, 0o000);
    expect(tls({ cert: pki.clientCert, key: locked })).toThrow(/key "mqtt\.key" = .*locked\.key cannot be read by this user .*permission denied; let the gateway's user read it/);
  });

  it("registry and data_dir of the wrong kind", () => {
    expect(() => parseConfig({ registry: "." }, "gw.toml", dir)).toThrow(/key "registry" = "\.": .* is a directory; give the registry file/);
    expect(() => parseConfig({ data_dir: "garbage.pem" }, "gw.toml", dir)).toThrow(/key "data_dir" = "garbage\.pem": .* is a file; data_dir is the folder/);
  });
});
