// The JSON API without a browser (fast): sessions, CSRF, roles and teams, escalation with its webhook on
// an injected clock, the append-only audit log, settings validation, the benefit report and its CSV.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import mqtt from "mqtt";
import { Mosquitto } from "../test/support/mosquitto.ts";
import { topic } from "../gateway/mqtt/topics.ts";
import { decodePayload } from "../gateway/mqtt/payload.ts";
import { until } from "../test/support/wait.ts";
import { startBackend, type BackendHandle } from "./index.ts";
import { doseHistory, makeEvent, publishEvents, testPatients } from "./test-events.ts";
import { benefitReport, reportCsv } from "./report.ts";
import { DEFAULT_SETTINGS } from "./settings.ts";

const PW = "correct horse battery";

describe("console API", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-api-"));
  let broker: Mosquitto;
  let be: BackendHandle;
  let offsetMs = 0;
  const hooks: any[] = [];
  let hookServer: http.Server;
  let hookUrl = "";

  beforeAll(async () => {
    broker = await Mosquitto.start({ persistence: false });
    hookServer = http.createServer((req, res) => {
      let b = "";
      req.on("data", (c) => (b += c));
      req.on("end", () => {
        hooks.push(JSON.parse(b));
        res.end("ok");
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", () => r()));
    hookUrl = `http://127.0.0.1:${(hookServer.address() as any).port}/hook`;
    be = await startBackend({
      brokerUrl: broker.url, db: `sqlite:${dir}/b.db`, http: { port: 0 }, instance: "api",
      patients: testPatients([{ id: "p-n", name: "Nora", team: "nord", devices: [1001, 2001] }, { id: "p-s", name: "Sofie", team: "sor", devices: [1002] }]),
      users: [
        { username: "rc", name: "RC", role: "operator", password: PW },
        { username: "nord", role: "nurse", team: "nord", password: PW },
        { username: "sor", role: "nurse", team: "sor", password: PW },
        { username: "leder", role: "manager", password: PW },
        { username: "tek", role: "technician", password: PW },
      ],
      settings: { escalationAfterS: 60, escalationWebhook: hookUrl },
      now: () => Date.now() + offsetMs,
      escalationCheckMs: 50,
      log: () => undefined,
    });
  }, 60_000);
  afterAll(async () => {
    await be?.stop();
    await broker?.stop();
    hookServer?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function login(username: string) {
    const r = await fetch(be.url + "api/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password: PW }) });
    expect(r.status).toBe(200);
    const cookie = r.headers.get("set-cookie")!.split(";")[0];
    const { csrf } = await r.json();
    const call = async (method: string, p: string, body?: unknown, extra: Record<string, string> = {}) => {
      const res = await fetch(be.url + p.replace(/^\//, ""), { method, headers: { cookie, "x-csrf-token": csrf, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });
      const ct = res.headers.get("content-type") ?? "";
      return { status: res.status, body: ct.includes("json") ? await res.json() : await res.text(), headers: res.headers };
    };
    return { cookie, csrf, call };
  }

  it("refuses a wrong password, a forged cookie and a missing CSRF token with clear errors", async () => {
    const bad = await fetch(be.url + "api/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "rc", password: "nope" }) });
    expect(bad.status).toBe(401);
    expect((await bad.json()).error).toBe("wrong username or password");
    const forged = await fetch(be.url + "api/alarms", { headers: { cookie: "varde_session=AAAA" } });
    expect(forged.status).toBe(401);
    const rc = await login("rc");
    const noCsrf = await fetch(be.url + "api/settings", { method: "PUT", headers: { cookie: rc.cookie, "content-type": "application/json" }, body: "{}" });
    expect(noCsrf.status).toBe(403);
    expect((await noCsrf.json()).error).toMatch(/CSRF/);
    const formPost = await rc.call("POST", "/api/alarms/1/claim", undefined, { "content-type": "application/x-www-form-urlencoded" });
    expect([404, 415]).toContain(formPost.status);
    const me = await rc.call("GET", "/api/me");
    expect(me.body.user).toMatchObject({ username: "rc", role: "operator" });
    expect(me.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
  });

  it("roles: an operator may not read patients or the report; a technician may not act on alarms", async () => {
    const rc = await login("rc");
    expect((await rc.call("GET", "/api/patients")).status).toBe(403);
    expect((await rc.call("GET", "/api/report")).status).toBe(403);
    const tek = await login("tek");
    expect((await tek.call("GET", "/api/alarms")).status).toBe(403);
    expect((await tek.call("PUT", "/api/settings", { minutesPerVisit: 5 })).status).toBe(403);
  });

  it("an unclaimed alarm escalates after the configured time: shown, POSTed to the webhook once, audited; a claimed one does not", async () => {
    await publishEvents(broker.url, [
      makeEvent({ gateway: "gw", device: 1001, boot: 5, seq: 1, type: "alarm", body: { alarm: {} } }),
      makeEvent({ gateway: "gw", device: 1002, boot: 5, seq: 1, type: "alarm", body: { alarm: {} } }),
    ]);
    const rc = await login("rc");
    const list = (await rc.call("GET", "/api/alarms")).body.alarms;
    const a1 = list.find((a: any) => a.device === 1001);
    const a2 = list.find((a: any) => a.device === 1002);
    expect((await rc.call("POST", `/api/alarms/${a2.id}/claim`, {})).status).toBe(200);
    expect((await rc.call("POST", `/api/alarms/${a2.id}/claim`, {})).body.error).toMatch(/already claimed.*by rc/);
    offsetMs = 61_000; // one minute later (escalation after 60 s)
    await until(() => hooks.length >= 1, 10_000, "the escalation webhook");
    await new Promise((r) => setTimeout(r, 300));
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({ type: "varde.alarm.escalated", alarmId: a1.id, device: 1001, patientId: "p-n" });
    const after = (await rc.call("GET", "/api/alarms")).body.alarms;
    expect(after.find((a: any) => a.id === a1.id).escalatedAt).toBeTruthy();
    expect(after.find((a: any) => a.id === a1.id).escalationResult).toBe("webhook answered 200");
    expect(after.find((a: any) => a.id === a2.id).escalatedAt).toBeNull();
    const audit = await be.db.all(`SELECT actor, action FROM audit WHERE action = 'alarm.escalate'`);
    expect(audit).toEqual([{ actor: "system", action: "alarm.escalate" }]);
    // closing needs a note
    expect((await rc.call("POST", `/api/alarms/${a1.id}/close`, { note: "  " })).status).toBe(400);
    expect((await rc.call("POST", `/api/alarms/${a1.id}/close`, { note: "falsk alarm, ringt opp" })).status).toBe(200);
  });

  it("teams: a nurse sees her team's patients, alarms and follow-ups only; another team's patient is 404 (as if it did not exist)", async () => {
    const sor = await login("sor");
    expect((await sor.call("GET", "/api/patients")).body.patients.map((p: any) => p.id)).toEqual(["p-s"]);
    expect((await sor.call("GET", "/api/patients/p-n")).status).toBe(404);
    expect((await sor.call("GET", "/api/patients/nobody")).status).toBe(404);
    expect((await sor.call("GET", "/api/alarms?all=1")).body.alarms.every((a: any) => a.device === 1002)).toBe(true);
    expect((await sor.call("POST", "/api/patients/p-n/refill", { device: 2001, doses: 28 })).status).toBe(404);
    const nord = await login("nord");
    expect((await nord.call("GET", "/api/patients/p-n")).status).toBe(200);
    const views = await be.db.all(`SELECT actor FROM audit WHERE action = 'patient.view' AND patient_id = 'p-n'`);
    expect(views.map((v) => v.actor)).toEqual(["nord"]);
  });

  it("a nurse confirms a refill: COMMAND_REFILL_CONFIRMED with the dose count goes to the device's gateway with a correlation id", async () => {
    await publishEvents(broker.url, [makeEvent({ gateway: "gw-r", device: 2001, boot: 6, seq: 1, type: "supply", body: { supply: { remaining: 0, hoursLeft: 0 } } })]);
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const got: any[] = [];
    c.on("message", (_t, p) => got.push(decodePayload("CommandRequest", new Uint8Array(p))));
    await c.subscribeAsync(topic("command", { gateway: "gw-r", command: "device-command" }), { qos: 1 });
    const nord = await login("nord");
    const r = await nord.call("POST", "/api/patients/p-n/refill", { device: 2001, doses: 28 });
    expect(r.status).toBe(200);
    await until(() => got.length === 1, 10_000, "the command at the broker");
    expect(got[0]).toMatchObject({ correlationId: r.body.correlationId, device: 2001, command: { kind: 3, arg: 28 } });
    const row = await be.db.get(`SELECT state, requested_by FROM commands WHERE correlation_id = ?`, [r.body.correlationId]);
    expect(row).toMatchObject({ state: "sent", requested_by: "nord" });
    expect((await nord.call("POST", "/api/patients/p-n/refill", { device: 2001, doses: 500 })).body.error).toMatch(/doses must be/);
    await c.endAsync();
  });

  it("the audit log is append-only: UPDATE and DELETE are refused by the database", async () => {
    await expect(be.db.run(`UPDATE audit SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(be.db.run(`DELETE FROM audit`)).rejects.toThrow(/append-only/);
  });

  it("settings: a manager's change is validated and audited", async () => {
    const leder = await login("leder");
    const bad = await leder.call("PUT", "/api/settings", { minutesPerVisit: -3 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/minutesPerVisit must be a number from 1 to 240/);
    expect((await leder.call("PUT", "/api/settings", { escalationWebhook: "javascript:alert(1)" })).status).toBe(400);
    const ok = await leder.call("PUT", "/api/settings", { minutesPerVisit: 12 });
    expect(ok.body.minutesPerVisit).toBe(12);
    const a = await be.db.get(`SELECT detail FROM audit WHERE action = 'settings.change' ORDER BY id DESC LIMIT 1`);
    expect(JSON.parse(a!.detail)).toEqual({ from: 10, to: 12 });
  });

  it("benefit report: unassisted doses × (visit + driving minutes); CSV with the assumptions, formula-safe", async () => {
    const endS = Math.floor(Date.now() / 1000);
    const hist = doseHistory({ gateway: "gw", device: 2001, boot: 77, weeks: 2, endS, seed: 3 });
    await publishEvents(broker.url, hist);
    const unassisted = hist.filter((e) => e.envelope.dose.kind === 0 && e.envelope.dose.mode === 0).length;
    const rep = await benefitReport(be.db, { ...DEFAULT_SETTINGS, minutesPerVisit: 12, drivingMinutesPerVisit: 8 }, { period: "week", fromS: endS - 30 * 86400, toS: endS + 1 });
    expect(rep.totals.unassistedDoses).toBe(unassisted);
    expect(rep.totals.avoidedVisits).toBe(unassisted);
    expect(Math.abs(rep.totals.avoidedHours - (unassisted * 20) / 60)).toBeLessThan(0.2);
    const csv = reportCsv({ ...rep, rows: [{ ...rep.rows[0], period: "=HYPERLINK(\"x\")" }] });
    expect(csv.split("\r\n")[0]).toBe("period,unassistedDoses,assistedDoses,missedDoses,avoidedVisits,avoidedHours,alarms,acknowledged,responseMedianS,responseP90S,withinLimitPct,minutesPerVisit,drivingMinutesPerVisit,responseLimitMin");
    expect(csv.split("\r\n")[1].startsWith(`"'=HYPERLINK(""x"")"`)).toBe(true);
    const leder = await login("leder");
    const r = await leder.call("GET", "/api/report.csv?period=month");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-disposition")).toMatch(/attachment/);
  });
});
