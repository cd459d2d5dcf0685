// Patients: the list (a nurse sees only her team's), and per patient the dose timeline, adherence per
// week, the schedule and refill commands. Each opening of a patient is written to the audit log.
import { api, barChart, boot, coalesce, el, flash, fmtClock, fmtDay, fmtTime, live, t } from "/app.js";

const me = await boot("patients", "patients.view");
const content = document.getElementById("content");
const id = new URLSearchParams(location.search).get("id");

async function list() {
  const r = await api("/api/patients");
  content.replaceChildren(el("h1", {}, t("patients")),
    el("ul", { id: "patient-list" }, r.patients.length ? r.patients.map((p) => el("li", {}, el("a", { href: `/patients.html?id=${encodeURIComponent(p.id)}` }, p.name), el("span", { class: "muted" }, ` · ${p.team} · ${p.devices.join(", ")}`))) : el("li", { class: "empty" }, t("none"))));
}

let showAll = false;
function timelineView(items) {
  const days = new Map();
  const since = Date.now() / 1000 - 14 * 86400;
  const shown = showAll ? items : items.filter((i) => (i.scheduled ?? i.time) >= since);
  for (const i of shown) {
    const ms = (i.scheduled ?? i.time) * 1000;
    const k = fmtDay(ms);
    if (!days.has(k)) days.set(k, []);
    days.get(k).push(i);
  }
  return el("div", { id: "timeline" }, [...days].map(([day, list]) => el("div", { class: "day" }, el("h3", {}, day), list.map((i) => {
    const when = (i.scheduled ?? i.time) * 1000;
    const extra = [];
    if (i.what === "taken" && i.delayS > 60) extra.push(`${t("late_by")} ${Math.round(i.delayS / 60)} ${t("min")}`);
    if (i.mode && i.mode !== "normal") extra.push(t(i.mode));
    if (i.scheduled && i.what !== "reminder") extra.push(`${t("scheduled")} ${fmtClock(i.scheduled * 1000)}`);
    if (i.remaining !== undefined && i.remaining !== null) extra.push(`${i.remaining} ${t("left")}`);
    if (i.followup) extra.push(`${t("fu_done")} ${i.followup.by}`);
    return el("div", { class: "ev", "data-what": i.what }, el("span", { class: "clock" }, fmtClock(i.what === "taken" ? i.time * 1000 : when)), el("span", { class: `dot ${i.what}` }), el("span", {}, t("w_" + i.what)), el("span", { class: "muted" }, extra.join(" · ")));
  }))), shown.length < items.length ? el("button", { type: "button", class: "noprint", onclick: () => ((showAll = true), again()) }, `${t("show_all")} (${items.length})`) : null);
}

async function detail() {
  if (document.activeElement?.tagName === "INPUT") return void setTimeout(() => again(), 2000);
  const r = await api(`/api/patients/${encodeURIComponent(id)}`);
  const p = r.patient;
  const dispensers = r.devices.filter((d) => d.kind === "dispenser");
  const canAct = me.permissions.includes("doses.act");
  const forms = canAct && dispensers.length ? dispensers.map((d) => {
    const times = el("input", { value: "08:00, 14:00, 20:00", "aria-label": t("times") });
    const doses = el("input", { type: "number", min: 1, max: 127, value: 28, "aria-label": t("doses_loaded") });
    return el("div", { class: "card noprint" }, el("h2", {}, `${t("schedule")} · ${t("device")} ${d.device}`),
      el("p", { class: "muted" }, `${t("schedule")} v${d.scheduleVersion}${d.remaining !== null ? ` · ${d.remaining} ${t("left")}` : ""}${d.refillNeeded ? " · " + t("w_refill_needed") : ""}`),
      el("label", {}, t("times")), times,
      el("div", { class: "actions" }, el("button", { type: "button", class: "primary", onclick: async () => {
        try { const x = await api(`/api/patients/${encodeURIComponent(id)}/schedule`, { method: "POST", body: { device: d.device, times: times.value.split(/[ ,;]+/).filter(Boolean) } }); flash(`${t("set_schedule")}: v${x.version}`, "ok"); } catch (e) { flash(e.message); }
      } }, t("set_schedule"))),
      el("label", {}, t("doses_loaded")), doses,
      el("div", { class: "actions" }, el("button", { type: "button", onclick: async () => {
        try { await api(`/api/patients/${encodeURIComponent(id)}/refill`, { method: "POST", body: { device: d.device, doses: Number(doses.value) } }); flash(t("refill"), "ok"); } catch (e) { flash(e.message); }
      } }, t("refill"))));
  }) : [];
  content.replaceChildren(
    el("p", { class: "noprint" }, el("a", { href: "/patients.html" }, "← " + t("patients"))),
    el("h1", { id: "patient-name" }, p.name),
    el("p", { class: "muted" }, `${p.team}${p.nationalId ? " · " + p.nationalId : ""} · ${t("device")}: ${p.devices.join(", ")}`),
    el("div", { class: "grid2" },
      el("section", {}, el("h2", {}, t("adherence")), r.adherence.length ? barChart(r.adherence.map((w) => ({ label: w.week.slice(5), value: w.percent, cls: w.percent >= 90 ? "good" : w.percent < 70 ? "bad" : "bar" })), { unit: "%", max: 100 }) : el("p", { class: "empty" }, t("none")),
        el("h2", {}, t("commands")), el("ul", {}, r.commands.length ? r.commands.map((c) => el("li", {}, `${fmtTime(c.requestedAt)} · ${c.command} · ${c.state}${c.error ? " · " + c.error : ""} · ${c.requestedBy}`)) : el("li", { class: "empty" }, t("none")))),
      el("section", {}, forms)),
    el("h2", {}, t("timeline")),
    r.timeline.length ? timelineView(r.timeline) : el("p", { class: "empty" }, t("none")));
}

const again = coalesce(id ? detail : list);
if (id) live((k) => (k === "doses" || k === "commands") && again());
again().catch?.((e) => flash(e.message));
