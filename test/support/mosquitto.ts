// A real Mosquitto broker for tests: started on a free loopback port with a temp config, optionally a
// TLS listener (test CA + server cert, client certs required), optionally username/password. stop()
// and restart() keep the same ports so clients reconnect to the same URL (broker-restart tests).
// Persistence is on by default (like a production broker): queued QoS 1 messages for persistent
// sessions survive a restart; pass persistence: false for a broker that forgets everything.
// makeTestPki() creates the CA and certificates with openssl inside the test.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export const MOSQUITTO_BIN = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].find((p) => fs.existsSync(p)) ?? "mosquitto";

export interface Pki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** a client certificate signed by ANOTHER CA: the broker must refuse it */
  rogueCert: string;
  rogueKey: string;
}

/** Test CA, a server cert for 127.0.0.1/localhost and client certs, made with openssl. */
export function makeTestPki(dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-pki-"))): Pki {
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ca = (name: string) => {
    ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", `/CN=${name}`, "-keyout", f(`${name}.key`), "-out", f(`${name}.pem`));
  };
  const leaf = (name: string, caName: string, ext: string) => {
    ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${name}`, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`));
    fs.writeFileSync(f(`${name}.ext`), ext);
    ssl("x509", "-req", "-in", f(`${name}.csr`), "-CA", f(`${caName}.pem`), "-CAkey", f(`${caName}.key`), "-CAcreateserial", "-days", "2", "-extfile", f(`${name}.ext`), "-out", f(`${name}.pem`));
  };
  ca("test-ca");
  ca("rogue-ca");
  leaf("server", "test-ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  leaf("client", "test-ca", "extendedKeyUsage=clientAuth\n");
  leaf("rogue", "rogue-ca", "extendedKeyUsage=clientAuth\n");
  return { dir, ca: f("test-ca.pem"), serverCert: f("server.pem"), serverKey: f("server.key"), clientCert: f("client.pem"), clientKey: f("client.key"), rogueCert: f("rogue.pem"), rogueKey: f("rogue.key") };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export interface MosquittoOptions {
  /** add a TLS listener using these certificates; client certificates required unless requireCertificate = false */
  tls?: { pki: Pki; requireCertificate?: boolean };
  /** require this username/password on every listener */
  user?: { username: string; password: string };
  /** more users (password file); setPassword() changes them and reload() makes the broker read them again */
  users?: Record<string, string>;
  /** ACL file content (`user <name>` / `topic read|write|readwrite <filter>` lines) */
  acl?: string;
  persistence?: boolean;
}

export class Mosquitto {
  proc: ChildProcess | null = null;
  log = "";
  private constructor(readonly dir: string, readonly port: number, readonly tlsPort: number, readonly opts: MosquittoOptions) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }
  get tlsUrl(): string {
    return `mqtts://127.0.0.1:${this.tlsPort}`;
  }

  static async start(opts: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-mosq-"));
    const m = new Mosquitto(dir, await freePort(), opts.tls ? await freePort() : 0, opts);
    const conf: string[] = [
      "per_listener_settings false",
      // started as root, mosquitto would drop to user "mosquitto", which cannot read our 0700 temp dir
      ...(process.getuid?.() === 0 ? ["user root"] : []),
      `persistence ${opts.persistence === false ? "false" : "true"}`,
      `persistence_location ${dir}/`,
      "autosave_interval 1",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "log_type notice",
      `listener ${m.port} 127.0.0.1`,
    ];
    if (opts.tls) {
      const p = opts.tls.pki;
      conf.push(`listener ${m.tlsPort} 127.0.0.1`, `cafile ${p.ca}`, `certfile ${p.serverCert}`, `keyfile ${p.serverKey}`, `require_certificate ${opts.tls.requireCertificate === false ? "false" : "true"}`);
    }
    const users = { ...(opts.users ?? {}), ...(opts.user ? { [opts.user.username]: opts.user.password } : {}) };
    if (Object.keys(users).length) {
      const pw = path.join(dir, "passwd");
      fs.writeFileSync(pw, "");
      for (const [u, p] of Object.entries(users)) execFileSync("mosquitto_passwd", ["-b", pw, u, p], { stdio: "pipe" });
      conf.push("allow_anonymous false", `password_file ${pw}`);
    } else {
      conf.push("allow_anonymous true");
    }
    if (opts.acl !== undefined) {
      fs.writeFileSync(path.join(dir, "acl"), opts.acl);
      conf.push(`acl_file ${path.join(dir, "acl")}`);
    }
    fs.writeFileSync(path.join(dir, "mosquitto.conf"), conf.join("\n") + "\n");
    await m.run();
    return m;
  }

  private async run(): Promise<void> {
    const proc = spawn(MOSQUITTO_BIN, ["-c", path.join(this.dir, "mosquitto.conf")], { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    proc.stderr!.on("data", (b: Buffer) => (this.log += b.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited with ${proc.exitCode} (config ${this.dir}/mosquitto.conf): ${this.log}`);
      if (await canConnect(this.port)) return;
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on 127.0.0.1:${this.port} within 10 s: ${this.log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Stops the broker (SIGTERM: it saves its persistence file first). */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once("exit", () => r());
      p.kill("SIGTERM");
    });
  }

  /** Sets (or changes) a user's password in the password file; takes effect at reload(). */
  setPassword(username: string, password: string): void {
    execFileSync("mosquitto_passwd", ["-b", path.join(this.dir, "passwd"), username, password], { stdio: "pipe" });
  }

  /** SIGHUP: the broker reads its password and ACL files again (clients stay connected). */
  reload(): void {
    this.proc?.kill("SIGHUP");
  }

  /** Same ports, same persistence directory. */
  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Convenience: start a plain broker. */
export function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  return Mosquitto.start(opts);
}
