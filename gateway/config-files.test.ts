// gateway.toml keys that name files: a wrong file is an error at start that names the key, the file and
// the fix — not an OpenSSL message at the first connection, nor EISDIR/EACCES (issue 14 item 10).
import { describe, it, expect } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
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

  it("an unreadable key file names the permission fix", () => {
    // root reads any file: as root, the check runs in a child process without the capabilities that
    // bypass file permissions (setpriv drops them from the bounding set), so mode 000 is refused
    const open = fs.mkdtempSync(path.join(os.tmpdir(), "varde-cfgperm-"));
    const locked = path.join(open, "locked.key");
    const cert = path.join(open, "client.pem");
    fs.copyFileSync(pki.clientKey, locked);
    fs.copyFileSync(pki.clientCert, cert);
    fs.chmodSync(locked, 0o000);
    fs.chmodSync(cert, 0o644);
    const cfg = { mqtt: { url: "mqtts://broker:8883", cert, key: locked } };
    let message: string;
    if (process.getuid?.() === 0) {
      const script = `import(${JSON.stringify(new URL("./config.ts", import.meta.url).pathname)}).then((m) => { try { m.parseConfig(${JSON.stringify(cfg)}, "gw.toml", ${JSON.stringify(open)}); console.log("no error"); } catch (e) { console.log(e.message); } });`;
      const r = spawnSync("setpriv", ["--bounding-set", "-dac_override,-dac_read_search", "--", process.execPath, "--import", "tsx", "-e", script], { encoding: "utf8", cwd: path.resolve(import.meta.dirname, "..") });
      expect(r.status, r.stderr).toBe(0);
      message = r.stdout;
    } else {
      try {
        parseConfig(cfg, "gw.toml", open);
        message = "no error";
      } catch (e) {
        message = (e as Error).message;
      }
    }
    expect(message).toMatch(/key "mqtt\.key" = .*locked\.key cannot be read by this user .*permission denied; let the gateway's user read it/);
  });

  it("registry and data_dir of the wrong kind", () => {
    expect(() => parseConfig({ registry: "." }, "gw.toml", dir)).toThrow(/key "registry" = "\.": .* is a directory; give the registry file/);
    expect(() => parseConfig({ data_dir: "garbage.pem" }, "gw.toml", dir)).toThrow(/key "data_dir" = "garbage\.pem": .* is a file; data_dir is the folder/);
  });
});
