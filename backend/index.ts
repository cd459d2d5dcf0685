// Public entry of the backend folder: the municipality's reference backend in-process.
//   const be = await startBackend({ brokerUrl, db: "sqlite:data/backend.db", http: { port: 8080 }, patients: "patients.toml",
//                                   users: [{ username: "kari", role: "operator", password: "..." }] });
//   be.url     the console (http://127.0.0.1:<port>/)
//   await be.stop()
// It subscribes to the backend contract, stores every event once, then acks it (backend/contract.ts),
// serves the console and its JSON API (backend/api.ts), and escalates unclaimed alarms.
import * as fs from "node:fs";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { openDb, type Db } from "./db.ts";
import { migrate } from "./schema.ts";
import { Changes } from "./changes.ts";
import { Contract, type ContractOptions } from "./contract.ts";
import { Auth, upsertUser, type NewUser } from "./auth.ts";
import { Alarms } from "./alarms.ts";
import { buildApi } from "./api.ts";
import { createServer } from "./http.ts";
import { loadPatients, type PatientRegistry } from "./patients.ts";
import { getSettings, type Settings } from "./settings.ts";

export { openDb, migrate, type Db };
export type { NewUser, Settings, PatientRegistry };

export interface BackendOptions {
  /** MQTT broker of the gateways, e.g. mqtt://127.0.0.1:1883 */
  brokerUrl: string;
  /** "sqlite:<file>" (default sqlite:varde-data/backend.db) or "postgres://user@host:port/db" */
  db?: string;
  /** port 0 = any free port; host default 127.0.0.1 */
  http?: { port?: number; host?: string; secureCookie?: boolean };
  /** the patient registry (backend/patients.ts), or its TOML path (reloaded when the file changes) */
  patients?: PatientRegistry | string;
  /** users to create or update at start (demo, tests); otherwise `varde backend user add` */
  users?: NewUser[];
  /** this instance's name (client id suffix, shown in /api/health); default random */
  instance?: string;
  /** MQTT details beyond the URL; shareGroup makes instances share the load */
  mqtt?: Partial<Omit<ContractOptions, "url">>;
  /** the municipality's defaults (a manager may change them in the console) */
  settings?: Partial<Settings>;
  /** clock (ms), for tests of escalation */
  now?: () => number;
  /** how often unclaimed alarms are checked for escalation (default 1 s) */
  escalationCheckMs?: number;
  log?: (level: "info" | "warn" | "error", msg: string) => void;
}

export interface BackendHandle {
  url: string;
  port: number;
  instance: string;
  db: Db;
  contract: Contract;
  changes: Changes;
  /** resolves when every event received so far is stored and acked */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

const emptyRegistry = (): PatientRegistry => ({ path: "(none)", patients: [], byId: new Map(), byDevice: new Map() });

export async function startBackend(o: BackendOptions): Promise<BackendHandle> {
  const now = o.now ?? Date.now;
  const log = o.log ?? ((level, msg) => (level === "info" ? console.log : console.error)(`backend ${level}: ${msg}`));
  const instance = o.instance ?? randomBytes(3).toString("hex");
  if (!/^[A-Za-z0-9._-]{1,40}$/.test(instance)) throw new Error(`backend instance name "${instance}" must be 1-40 letters, digits, ".", "_" or "-"`);

  let patients: PatientRegistry = typeof o.patients === "object" ? o.patients : o.patients ? loadPatients(o.patients) : emptyRegistry();
  let unwatch = () => {};
  if (typeof o.patients === "string") {
    const file = o.patients;
    const reload = () => {
      try {
        patients = loadPatients(file);
        log("info", `patient registry ${file} reloaded: ${patients.patients.length} patients`);
      } catch (e) {
        log("error", `${(e as Error).message} — keeping the previous registry until the file is fixed`);
      }
    };
    fs.watchFile(file, { interval: 1000 }, reload);
    unwatch = () => fs.unwatchFile(file, reload);
  }

  const db = await openDb(o.db ?? "sqlite:varde-data/backend.db");
  const cleanup: Array<() => Promise<void> | void> = [() => db.close(), unwatch];
  const undo = async () => {
    while (cleanup.length) await cleanup.pop()!();
  };
  try {
    await migrate(db, now);
    for (const u of o.users ?? []) await upsertUser(db, u, now());
    const changes = new Changes(db, instance);
    await changes.start();
    const contract = new Contract({ ...o.mqtt, url: o.brokerUrl, clientId: o.mqtt?.clientId ?? `varde-backend-${instance}` }, db, instance, changes, now, log);
    contract.patientOf = (device) => patients.byDevice.get(device)?.id;
    await contract.start();
    cleanup.push(() => contract.stop());
    const alarms = new Alarms(db, () => patients, contract, now);
    const api = buildApi({ db, auth: new Auth(db, now), contract, alarms, changes, patients: () => patients, baseSettings: o.settings ?? {}, now, instance, secureCookie: !!o.http?.secureCookie });
    const server = createServer(api, (e) => log("error", `http: ${e.stack ?? e.message}`));
    const sockets = new Set<import("node:net").Socket>();
    server.on("connection", (s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(new Error(e.code === "EADDRINUSE" ? `backend [http] port ${o.http?.port} is in use; choose another port (or 0 for any free one)` : `backend http: ${e.message}`)));
      server.listen(o.http?.port ?? 8080, o.http?.host ?? "127.0.0.1", () => resolve());
    });
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          for (const s of sockets) s.destroy(); // SSE streams stay open otherwise
        }),
    );
    let escalating = false;
    const timer = setInterval(async () => {
      if (escalating) return;
      escalating = true;
      try {
        const ids = await alarms.escalate(await getSettings(db, o.settings ?? {}));
        if (ids.length) changes.emit({ kind: "alarms" });
      } catch (e) {
        log("error", `escalation check: ${(e as Error).message}`);
      } finally {
        escalating = false;
      }
    }, o.escalationCheckMs ?? 1000);
    cleanup.push(() => clearInterval(timer));
    const port = (server.address() as AddressInfo).port;
    const host = o.http?.host ?? "127.0.0.1";
    let stopped = false;
    return {
      url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/`,
      port,
      instance,
      db,
      contract,
      changes,
      drained: () => contract.drained(),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await undo();
      },
    };
  } catch (e) {
    await undo();
    throw e;
  }
}
