// The Debian package (scripts/build-deb.sh, `make deb`) that installs Varde into /opt/varde: built here,
// its control data and file list checked, and the unpacked tree run — `varde --version` and a gateway
// that starts, reports and stops gracefully — with only what the package holds (its own node_modules).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { unitLaunch } from "../test/support/gateway-process.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version as string;
let dir: string;
let deb: string;
let unpacked: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-deb-"));
  // no compression: the test checks the package, not xz
  const out = execFileSync(path.join(ROOT, "scripts/build-deb.sh"), [path.join(dir, "out")], { cwd: ROOT, env: { ...process.env, DEB_COMPRESSION: "none" }, encoding: "utf8" });
  deb = out.trim().split("\n").pop()!;
  unpacked = path.join(dir, "root");
  execFileSync("dpkg-deb", ["-x", deb, unpacked]);
}, 180_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the Debian package", () => {
  it("is named and described for apt, keeps the configuration as a conffile, and has sound maintainer scripts", () => {
    expect(path.basename(deb)).toBe(`varde_${version}_${execFileSync("dpkg", ["--print-architecture"], { encoding: "utf8" }).trim()}.deb`);
    const field = (f: string) => execFileSync("dpkg-deb", ["-f", deb, f], { encoding: "utf8" }).trim();
    expect(field("Package")).toBe("varde");
    expect(field("Version")).toBe(version);
    expect(field("Depends")).toMatch(/^nodejs \(>= \d+\), adduser$/);
    const control = path.join(dir, "control");
    execFileSync("dpkg-deb", ["-e", deb, control]);
    expect(fs.readFileSync(path.join(control, "conffiles"), "utf8").trim()).toBe("/etc/varde/gateway.toml");
    for (const s of ["postinst", "prerm", "postrm"]) {
      expect(spawnSync("sh", ["-n", path.join(control, s)]).status, s).toBe(0);
      expect(fs.statSync(path.join(control, s)).mode & 0o111).not.toBe(0);
    }
  });

  it("holds the application, its production modules, the command, the service and the completion — not the tests", () => {
    const has = (p: string) => fs.existsSync(path.join(unpacked, p));
    for (const p of ["opt/varde/bin/varde.js", "opt/varde/gateway/index.ts", "opt/varde/firmware", "opt/varde/hardware/alarm-esp32.toml", "opt/varde/docs/backend-contract.md", "opt/varde/LICENSE",
      "opt/varde/dist/gateway/varde-gateway.mjs", "opt/varde/dist/gateway/varde.proto", "opt/varde/node_modules/better-sqlite3/build/Release/better_sqlite3.node", "opt/varde/node_modules/tsx", "usr/bin/varde", "etc/varde/gateway.toml",
      "lib/systemd/system/varde-gateway.service", "usr/share/bash-completion/completions/varde", "usr/share/doc/varde/copyright"])
      expect(has(p), p).toBe(true);
    for (const p of ["opt/varde/test", "opt/varde/gateway/config.test.ts", "opt/varde/node_modules/vitest", "opt/varde/node_modules/typescript"]) expect(has(p), p).toBe(false);
    // the unit runs what the package installs: the compiled gateway
    const unit = fs.readFileSync(path.join(unpacked, "lib/systemd/system/varde-gateway.service"), "utf8");
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node (--[\w=-]+ )*\/opt\/varde\/dist\/gateway\/varde-gateway\.mjs --config \/etc\/varde\/gateway\.toml/m);
    // a setting given twice is either a list systemd appends to or a mistake: none here is meant twice
    const settings = unit.split("\n").filter((l) => /^[A-Z]\w*=/.test(l) && !/^(DeviceAllow|Wants|After)=/.test(l));
    expect(settings.filter((l, i) => settings.indexOf(l) !== i)).toEqual([]);
  });

  it("runs from the unpacked tree alone: --version, and the service's gateway (as the unit starts it) starts and stops gracefully", async () => {
    const varde = path.join(unpacked, "opt/varde/bin/varde.js");
    expect(execFileSync(process.execPath, [varde, "--version"], { encoding: "utf8" }).trim()).toBe(`varde ${version}`);
    // the packaged configuration, with this test's paths (it names /etc/varde and /var/lib/varde)
    const cfg = fs.readFileSync(path.join(unpacked, "etc/varde/gateway.toml"), "utf8").replace("/etc/varde/registry.toml", path.join(dir, "registry.toml")).replace("/var/lib/varde", path.join(dir, "data")).replace("port = 9464", "port = -1").replace(/\[mqtt\]\n/, "[mqtt]\nembedded_port = 0\n");
    fs.writeFileSync(path.join(dir, "gateway.toml"), cfg);
    const service = path.join(unpacked, "opt/varde/dist/gateway/varde-gateway.mjs");
    // with the packaged unit's node flags and environment (a flag node does not know stops it: exit code 9)
    const unit = unitLaunch(path.join(unpacked, "lib/systemd/system/varde-gateway.service"));
    expect(unit.nodeArgs).toContain("--max-semi-space-size=1");
    const child = spawn(process.execPath, [...unit.nodeArgs, service, "--config", path.join(dir, "gateway.toml")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...unit.env } });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    const end = Date.now() + 30_000;
    while (!/ running \(config/.test(out) && child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(out).toMatch(/gateway home-gw-1 running/);
    const exited = new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    child.kill("SIGTERM");
    expect(await exited, out).toBe(0);
  }, 60_000);
});
