// The console's JSON API. Every route checks the session and the role's permission (backend/auth.ts);
// routes that change something also check the CSRF token; every patient-data view and every change is
// written to the audit log. A nurse's requests are filtered to her team's patients HERE, not only in
// the pages: another team's patient answers 404 exactly like one that does not exist.
import type * as http from "node:http";
import type { Db } from "./db.ts";
import { Auth, can, canSeePatient, csrfMatches, type Permission, type User } from "./auth.ts";
import { ApiError, Router, sendJson, SECURITY_HEADERS, type Req } from "./http.ts";
import type { PatientRegistry } from "./patients.ts";
import { Alarms, listAlarms } from "./alarms.ts";
import { listDevices } from "./devices.ts";
import { adherenceByWeek, followups, timeline } from "./doses.ts";
import { benefitReport, reportCsv } from "./report.ts";
import { appendAudit, listAudit } from "./audit.ts";
import { checkSetting, getSettings, setSetting, type Settings } from "./settings.ts";
import type { Contract } from "./contract.ts";
import type { Changes } from "./changes.ts";
import { lookupEnum } from "./enums.ts";

const COOKIE = "varde_session";
const CMD = lookupEnum("CommandKind");

export interface ApiDeps {
  db: Db;
  auth: Auth;
  contract: Contract;
  alarms: Alarms;
  changes: Changes;
  patients: () => PatientRegistry;
  baseSettings: Partial<Settings>;
  now: () => number;
  instance: string;
  /** mark the cookie Secure (served over https, e.g. behind a TLS proxy) */
  secureCookie: boolean;
}

interface Ctx { user: User; csrf: string; tokenHash: string }

export function buildApi(d: ApiDeps): Router {
  const r = new Router();
  const nowS = () => Math.floor(d.now() / 1000);

  async function session(req: Req): Promise<Ctx> {
    const s = await d.auth.session(req.cookies[COOKIE]);
    if (!s) throw new ApiError(401, "not logged in (no session, or it expired or is unknown); log in again");
    return s;
  }
  /** Session + permission (+ CSRF for changes). */
  function guard(perm: Permission | null, fn: (req: Req, c: Ctx) => Promise<unknown>) {
    return async (req: Req) => {
      const c = await session(req);
      if (req.method !== "GET") {
        if (!csrfMatches(c.csrf, req.headers["x-csrf-token"] as string | undefined)) throw new ApiError(403, "missing or wrong CSRF token (header X-CSRF-Token); reload the page and try again");
      }
      if (perm && !can(c.user, perm)) throw new ApiError(403, `your role (${c.user.role}) may not do this (needs ${perm})`);
      return fn(req, c);
    };
  }
  const audit = (c: Ctx, action: string, target: string, patientId?: string | null, detail?: Record<string, unknown>) =>
    appendAudit(d.db, { at: d.now(), actor: c.user.username, role: c.user.role, action, target, patientId, detail });
  const intParam = (v: string, what: string) => {
    if (!/^[0-9]{1,12}$/.test(v)) throw new ApiError(400, `${what} must be a number, not "${v.slice(0, 40)}"`);
    return Number(v);
  };
  /** The patient if the user may see it; 404 otherwise (the same answer as for one that does not exist). */
  const visiblePatient = (c: Ctx, id: string) => {
    const p = d.patients().byId.get(id);
    if (!p || !canSeePatient(c.user, p)) throw new ApiError(404, `patient ${id.slice(0, 64)} not found`);
    return p;
  };
  const deviceRow = async (c: Ctx, device: number) => {
    const row = await d.db.get(`SELECT device, gateway, kind FROM devices WHERE device = ?`, [device]);
    if (!row || !canSeePatient(c.user, d.patients().byDevice.get(device))) throw new ApiError(404, `device ${device} not found (it has sent nothing yet, or is not yours)`);
    return row;
  };

  // ---- session
  r.add("POST", "/api/login", async (req) => {
    const { username, password } = req.body ?? {};
    if (typeof username !== "string" || typeof password !== "string") throw new ApiError(400, "send {username, password}");
    const out = await d.auth.login(username, password);
    if ("error" in out) {
      await appendAudit(d.db, { at: d.now(), actor: username.slice(0, 40), role: "", action: "login.failed", target: "session" });
      throw new ApiError(401, out.error);
    }
    await appendAudit(d.db, { at: d.now(), actor: out.user.username, role: out.user.role, action: "login", target: "session" });
    const cookie = `${COOKIE}=${out.token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(d.auth.ttlMs / 1000)}${d.secureCookie ? "; Secure" : ""}`;
    sendJson(req.res, 200, { user: out.user, csrf: out.csrf }, { "set-cookie": cookie });
  });
  r.add("POST", "/api/logout", guard(null, async (req, c) => {
    await d.auth.logout(c.tokenHash);
    await audit(c, "logout", "session");
    sendJson(req.res, 200, { ok: true }, { "set-cookie": `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` });
  }));
  r.add("GET", "/api/me", guard(null, async (_req, c) => ({ user: c.user, csrf: c.csrf, permissions: (["alarms.view", "alarms.act", "devices.view", "devices.configure", "patients.view", "doses.act", "report.view", "settings.edit", "audit.view"] as Permission[]).filter((p) => can(c.user, p)), instance: d.instance })));

  // ---- alarms
  r.add("GET", "/api/alarms", guard("alarms.view", async (req, c) => ({ alarms: await listAlarms(d.db, c.user, d.patients(), { open: req.query.get("all") !== "1", limit: Number(req.query.get("limit")) || undefined }) })));
  r.add("POST", "/api/alarms/:id/claim", guard("alarms.act", async (req, c) => {
    await d.alarms.claim(intParam(req.params.id, "alarm id"), c.user);
    d.changes.emit({ kind: "alarms" });
  }));
  r.add("POST", "/api/alarms/:id/ack", guard("alarms.act", async (req, c) => {
    const correlationId = await d.alarms.acknowledge(intParam(req.params.id, "alarm id"), c.user);
    d.changes.emit({ kind: "alarms" });
    return { ok: true, correlationId };
  }));
  r.add("POST", "/api/alarms/:id/close", guard("alarms.act", async (req, c) => {
    await d.alarms.close(intParam(req.params.id, "alarm id"), c.user, req.body?.note);
    d.changes.emit({ kind: "alarms" });
  }));

  // ---- devices
  r.add("GET", "/api/devices", guard("devices.view", async (_req, c) => ({
    devices: await listDevices(d.db, c.user, d.patients(), nowS()),
    gateways: await d.db.all(`SELECT gateway, online, bd_seq AS "bdSeq", version, devices_online AS "devicesOnline", outbox_depth AS "outboxDepth", outbox_full AS "outboxFull", updated_at AS "updatedAt" FROM gateways ORDER BY gateway`),
  })));
  r.add("GET", "/api/devices/:id/commands", guard("devices.view", async (req, c) => {
    const dev = intParam(req.params.id, "device id");
    await deviceRow(c, dev);
    const rows = await d.db.all(`SELECT * FROM commands WHERE device = ? ORDER BY id DESC LIMIT 50`, [dev]);
    return { commands: rows.map(commandView) };
  }));
  r.add("POST", "/api/devices/:id/heartbeat", guard("devices.configure", async (req, c) => {
    const dev = intParam(req.params.id, "device id");
    const s = req.body?.heartbeatS;
    if (!Number.isInteger(s) || s < 10 || s > 86400) throw new ApiError(400, "heartbeatS must be a whole number of seconds from 10 to 86400");
    const row = await deviceRow(c, dev);
    const corr = await d.contract.sendCommand({ gateway: row.gateway, device: dev, command: "set-heartbeat", request: { heartbeatS: s }, by: c.user.username });
    await audit(c, "device.set_heartbeat", `device:${dev}`, d.patients().byDevice.get(dev)?.id, { heartbeatS: s, correlationId: corr });
    return { correlationId: corr };
  }));
  r.add("POST", "/api/devices/:id/status", guard("devices.view", async (req, c) => {
    const dev = intParam(req.params.id, "device id");
    const row = await deviceRow(c, dev);
    const corr = await d.contract.sendCommand({ gateway: row.gateway, device: dev, command: "device-command", request: { command: { kind: CMD.COMMAND_STATUS } }, by: c.user.username });
    await audit(c, "device.status", `device:${dev}`, d.patients().byDevice.get(dev)?.id, { correlationId: corr });
    return { correlationId: corr };
  }));
  r.add("POST", "/api/devices/:id/test-alarm", guard("devices.configure", async (req, c) => {
    const dev = intParam(req.params.id, "device id");
    const row = await deviceRow(c, dev);
    if (Number(row.kind) !== 1) throw new ApiError(400, `device ${dev} is not an alarm button`);
    const corr = await d.contract.sendCommand({ gateway: row.gateway, device: dev, command: "device-command", request: { command: { kind: CMD.COMMAND_TEST_ALARM } }, by: c.user.username });
    await audit(c, "device.test_alarm", `device:${dev}`, d.patients().byDevice.get(dev)?.id, { correlationId: corr });
    return { correlationId: corr };
  }));
  r.add("POST", "/api/gateways/:gw/status", guard("devices.configure", async (req, c) => {
    const gw = req.params.gw;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(gw)) throw new ApiError(400, "bad gateway id");
    const corr = await d.contract.sendCommand({ gateway: gw, device: 0, command: "status", request: {}, by: c.user.username });
    await audit(c, "gateway.status", `gateway:${gw}`, null, { correlationId: corr });
    return { correlationId: corr };
  }));
  r.add("GET", "/api/commands", guard("devices.view", async (_req, c) => {
    const rows = await d.db.all(`SELECT * FROM commands ORDER BY id DESC LIMIT 100`);
    return { commands: rows.filter((row) => Number(row.device) === 0 ? c.user.role !== "nurse" : canSeePatient(c.user, d.patients().byDevice.get(Number(row.device)))).slice(0, 30).map(commandView) };
  }));
  r.add("GET", "/api/commands/:corr", guard(null, async (req, c) => {
    const row = await d.db.get(`SELECT * FROM commands WHERE correlation_id = ?`, [req.params.corr]);
    if (!row || (Number(row.device) !== 0 && !canSeePatient(c.user, d.patients().byDevice.get(Number(row.device))))) throw new ApiError(404, "command not found");
    return commandView(row);
  }));

  // ---- patients and doses
  r.add("GET", "/api/patients", guard("patients.view", async (_req, c) => {
    const list = d.patients().patients.filter((p) => canSeePatient(c.user, p));
    await audit(c, "patients.list", "patients", null, { count: list.length });
    return { patients: list.map((p) => ({ id: p.id, name: p.name, team: p.team, devices: p.devices })) };
  }));
  r.add("GET", "/api/patients/:id", guard("patients.view", async (req, c) => {
    const p = visiblePatient(c, req.params.id);
    const items = await timeline(d.db, p, { sinceS: nowS() - 90 * 86400 });
    await audit(c, "patient.view", `patient:${p.id}`, p.id);
    const devices = p.devices.length ? await d.db.all(`SELECT device, kind, schedule_version, remaining, refill_needed, gateway FROM devices WHERE device IN (${p.devices.map(() => "?").join(",")})`, p.devices) : [];
    const commands = p.devices.length ? await d.db.all(`SELECT * FROM commands WHERE device IN (${p.devices.map(() => "?").join(",")}) ORDER BY id DESC LIMIT 20`, p.devices) : [];
    return {
      patient: { id: p.id, name: p.name, team: p.team, devices: p.devices, nationalId: c.user.role === "nurse" || c.user.role === "manager" ? p.nationalId : undefined },
      devices: devices.map((x) => ({ device: Number(x.device), kind: x.kind === 2 ? "dispenser" : x.kind === 1 ? "alarm" : "unknown", scheduleVersion: x.schedule_version, remaining: x.remaining, refillNeeded: !!x.refill_needed })),
      timeline: items, adherence: adherenceByWeek(items), commands: commands.map(commandView),
    };
  }));
  r.add("POST", "/api/patients/:id/schedule", guard("doses.act", async (req, c) => {
    const p = visiblePatient(c, req.params.id);
    const dev = intParam(String(req.body?.device ?? ""), "device");
    if (!p.devices.includes(dev)) throw new ApiError(400, `device ${dev} is not ${p.id}'s`);
    const times = req.body?.times;
    if (!Array.isArray(times) || times.length === 0 || times.length > 8 || times.some((t: unknown) => typeof t !== "string" || !/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(t)))
      throw new ApiError(400, `times must be 1-8 local times "HH:MM" (Norwegian time), e.g. ["08:00", "20:00"]`);
    const num = (k: string, lo: number, hi: number) => {
      const v = req.body?.[k] ?? 0;
      if (!Number.isInteger(v) || v < lo || v > hi) throw new ApiError(400, `${k} must be a whole number of minutes from ${lo} to ${hi} (0 = the device's default)`);
      return v;
    };
    const row = await deviceRow(c, dev);
    const sent = await d.db.all(`SELECT request FROM commands WHERE device = ? AND command = 'set-schedule'`, [dev]);
    const cur = await d.db.get(`SELECT schedule_version FROM devices WHERE device = ?`, [dev]);
    const version = Math.max(Number(cur?.schedule_version ?? 0), ...sent.map((s) => Number(JSON.parse(s.request).schedule?.version ?? 0))) + 1;
    const schedule = {
      version, doses: [...new Set(times as string[])].sort().map((t) => ({ minute: Number(t.slice(0, 2)) * 60 + Number(t.slice(3)) })),
      earlyMin: num("earlyMin", 0, 240), lateMin: num("lateMin", 0, 600), collectMin: num("collectMin", 0, 600),
    };
    const corr = await d.contract.sendCommand({ gateway: row.gateway, device: dev, command: "set-schedule", request: { schedule }, by: c.user.username });
    await audit(c, "patient.set_schedule", `device:${dev}`, p.id, { schedule, correlationId: corr });
    return { correlationId: corr, version };
  }));
  r.add("POST", "/api/patients/:id/refill", guard("doses.act", async (req, c) => {
    const p = visiblePatient(c, req.params.id);
    const dev = intParam(String(req.body?.device ?? ""), "device");
    if (!p.devices.includes(dev)) throw new ApiError(400, `device ${dev} is not ${p.id}'s`);
    const doses = req.body?.doses;
    if (!Number.isInteger(doses) || doses < 1 || doses > 127) throw new ApiError(400, "doses must be the number of doses loaded, 1-127");
    const row = await deviceRow(c, dev);
    const corr = await d.contract.sendCommand({ gateway: row.gateway, device: dev, command: "device-command", request: { command: { kind: CMD.COMMAND_REFILL_CONFIRMED, arg: doses } }, by: c.user.username });
    await audit(c, "patient.refill_confirmed", `device:${dev}`, p.id, { doses, correlationId: corr });
    return { correlationId: corr };
  }));
  r.add("GET", "/api/followups", guard("patients.view", async (_req, c) => {
    const list = await followups(d.db, c.user, d.patients());
    await audit(c, "followups.view", "followups", null, { count: list.length });
    return { followups: list };
  }));
  r.add("POST", "/api/followups/:eventId", guard("doses.act", async (req, c) => {
    const note = req.body?.note;
    if (typeof note !== "string" || note.trim() === "" || note.length > 2000) throw new ApiError(400, "note: what was done to follow up (1-2000 characters)");
    const ev = await d.db.get(`SELECT device, type FROM events WHERE event_id = ?`, [req.params.eventId]);
    const p = ev ? d.patients().byDevice.get(Number(ev.device)) : undefined;
    if (!ev || ev.type !== "dose" || !canSeePatient(c.user, p)) throw new ApiError(404, `dose event ${req.params.eventId.slice(0, 80)} not found`);
    const ins = await d.db.run(`INSERT INTO followups (event_id, by_user, at, note) VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`, [req.params.eventId, c.user.username, d.now(), note]);
    if (ins.changes === 0) throw new ApiError(409, "this dose is already followed up");
    await audit(c, "dose.followup", `event:${req.params.eventId}`, p?.id, { note });
    d.changes.emit({ kind: "doses" });
  }));

  // ---- benefit report
  const report = async (req: Req) => {
    const period = req.query.get("period") === "month" ? "month" : "week";
    const toS = req.query.get("to") ? Math.floor(Date.parse(req.query.get("to")!) / 1000) : nowS();
    const fromS = req.query.get("from") ? Math.floor(Date.parse(req.query.get("from")!) / 1000) : toS - (period === "week" ? 12 * 7 : 365) * 86400;
    if (!Number.isFinite(fromS) || !Number.isFinite(toS) || fromS >= toS) throw new ApiError(400, "from/to must be dates (YYYY-MM-DD), from before to");
    return benefitReport(d.db, await getSettings(d.db, d.baseSettings), { period, fromS, toS });
  };
  r.add("GET", "/api/report", guard("report.view", async (req, c) => {
    const rep = await report(req);
    await audit(c, "report.view", "report", null, { period: rep.period });
    return rep;
  }));
  r.add("GET", "/api/report.csv", guard("report.view", async (req, c) => {
    const rep = await report(req);
    await audit(c, "report.export_csv", "report", null, { period: rep.period });
    req.res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="varde-gevinst-${rep.period}.csv"`, "cache-control": "no-store" });
    req.res.end(reportCsv(rep));
  }));

  // ---- settings and audit
  r.add("GET", "/api/settings", guard(null, async () => getSettings(d.db, d.baseSettings)));
  r.add("PUT", "/api/settings", guard("settings.edit", async (req, c) => {
    const body = req.body ?? {};
    const keys = Object.keys(body);
    if (keys.length === 0) throw new ApiError(400, "send the settings to change, e.g. {\"escalationAfterS\": 180}");
    for (const k of keys) {
      const bad = checkSetting(k, body[k]);
      if (bad) throw new ApiError(400, bad);
    }
    const before = await getSettings(d.db, d.baseSettings);
    await d.db.tx(async (q) => {
      for (const k of keys) {
        await setSetting(q, k as keyof Settings, body[k], c.user.username, d.now());
        await appendAudit(q, { at: d.now(), actor: c.user.username, role: c.user.role, action: "settings.change", target: `setting:${k}`, detail: { from: (before as any)[k], to: body[k] } });
      }
    });
    d.changes.emit({ kind: "settings" });
    return getSettings(d.db, d.baseSettings);
  }));
  r.add("GET", "/api/audit", guard("audit.view", async (req) => ({ entries: await listAudit(d.db, { limit: Number(req.query.get("limit") ?? 200), patientId: req.query.get("patient") ?? undefined }) })));

  // ---- server push (SSE): "something of kind X changed"; the page fetches it through the API above
  r.add("GET", "/api/stream", guard(null, async (req) => stream(req.raw, req.res, d.changes)));
  r.add("GET", "/api/health", async () => ({ ok: true, instance: d.instance, mqtt: d.contract.connected, db: d.db.dialect, stats: d.contract.stats }));
  return r;
}

function commandView(r: any) {
  return { correlationId: r.correlation_id, command: r.command, device: Number(r.device), gateway: r.gateway, state: r.state, downlinkSeq: r.downlink_seq, error: r.error, requestedBy: r.requested_by, requestedAt: Number(r.requested_at), updatedAt: Number(r.updated_at), response: r.response ? JSON.parse(r.response) : null };
}

function stream(raw: http.IncomingMessage, res: http.ServerResponse, changes: Changes): Promise<void> {
  res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
  res.write("retry: 1000\n\n");
  const off = changes.on((c) => res.write(`event: change\ndata: ${JSON.stringify({ kind: c.kind, detail: c.detail ?? "" })}\n\n`));
  const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
  return new Promise((resolve) => {
    raw.on("close", () => {
      off();
      clearInterval(ping);
      resolve();
    });
  });
}
