// Devices, worst state first: lost, faults, battery, backlog/refill, fine. Technicians can ask for a
// status and set the heartbeat interval; the command's progress (sent → queued → delivered) is shown.
import { api, boot, coalesce, el, flash, fmtAgo, fmtTime, live, t } from "/app.js";

const me = await boot("devices", "devices.view");
const content = document.getElementById("content");
const open = new Set();

async function command(path, body) {
  try {
    const r = await api(path, { method: "POST", body });
    flash(`${t("cmd_sent")} (${r.correlationId})`, "ok");
  } catch (e) {
    flash(e.message);
  }
}

function row(d) {
  const details = el("details", { open: open.has(d.device) || null, ontoggle: (e) => (e.target.open ? open.add(d.device) : open.delete(d.device)) },
    el("summary", {}, t("history")),
    d.faults.length ? el("p", {}, `${t("faults")}: `, d.faults.map((f) => `${f.name} (${fmtTime(f.since * 1000)})`).join(", ")) : null,
    el("ul", {}, d.history.length ? d.history.map((h) => el("li", {}, `${fmtTime(h.time * 1000)} · ${t(h.what)}`)) : el("li", { class: "empty" }, t("none"))),
    el("div", { class: "actions noprint" },
      el("button", { type: "button", onclick: () => command(`/api/devices/${d.device}/status`, {}) }, t("ask_status")),
      me.permissions.includes("devices.configure") && d.kind === "alarm" ? el("button", { type: "button", "data-act": "test-alarm", onclick: () => command(`/api/devices/${d.device}/test-alarm`, {}) }, t("test_alarm")) : null,
      me.permissions.includes("devices.configure") && (() => {
        const inp = el("input", { type: "number", min: 10, max: 86400, value: d.heartbeatS ?? 60, "aria-label": t("set_hb") });
        return el("span", { class: "row" }, el("label", {}, t("set_hb"), inp), el("button", { type: "button", onclick: () => command(`/api/devices/${d.device}/heartbeat`, { heartbeatS: Number(inp.value) }) }, t("send")));
      })()));
  return el("tr", { "data-device": d.device, "data-state": d.state },
    el("td", {}, el("span", { class: `tag st-${d.state}` }, t("st_" + d.state))),
    el("td", {}, el("strong", {}, String(d.device)), el("div", { class: "muted" }, `${d.kind} · ${d.label || ""}`), d.patient ? el("div", {}, d.patient.name) : null, details),
    el("td", {}, d.batteryPct === null ? "–" : `${d.batteryPct} %`, d.batteryDays ? el("div", { class: "muted" }, `${d.batteryDays} ${t("days_left")}`) : null),
    el("td", {}, String(d.outboxDepth), d.refillNeeded ? el("div", { class: "muted" }, t("w_refill_needed")) : null),
    el("td", {}, fmtAgo(d.silentS), el("div", { class: "muted" }, fmtTime(d.lastSeen * 1000))),
    el("td", {}, d.firmware || "–", el("div", { class: "muted" }, d.board || "")));
}

function commandRow(c) {
  const resp = c.response?.json ? (() => { try { return JSON.stringify(JSON.parse(c.response.json), null, 1); } catch { return c.response.json; } })() : null;
  return el("li", { "data-correlation": c.correlationId, "data-state": c.state },
    `${fmtTime(c.requestedAt)} · ${c.command}${c.device ? " · " + t("device") + " " + c.device : " · " + c.gateway} · `, el("strong", {}, c.state), c.downlinkSeq ? ` · downlink ${c.downlinkSeq}` : "",
    c.error ? el("span", { class: "err" }, ` · ${c.error}`) : null, ` · ${c.requestedBy} · `, el("code", { class: "muted" }, c.correlationId),
    resp ? el("details", {}, el("summary", {}, "status"), el("pre", {}, resp.slice(0, 4000))) : null);
}

async function refresh() {
  // do not redraw under someone's typing; look again shortly
  if (document.activeElement?.tagName === "INPUT") return void setTimeout(() => again(), 2000);
  const [r, cmds] = await Promise.all([api("/api/devices"), api("/api/commands")]);
  content.replaceChildren(
    el("h1", {}, t("devices")),
    el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, [t("state"), t("device"), t("battery"), t("outbox"), t("last_seen"), t("firmware")].map((h) => el("th", {}, h)))),
      el("tbody", {}, r.devices.length ? r.devices.map(row) : el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("none")))))),
    el("h2", {}, t("gateways")),
    el("ul", {}, r.gateways.map((g) => el("li", {}, `${g.gateway} · ${g.online ? t("online") : t("offline_gw")} · v${g.version} · ${t("gw_outbox")}: ${g.outboxDepth}${g.outboxFull ? " (FULL)" : ""} `,
      me.permissions.includes("devices.configure") ? el("button", { type: "button", class: "link", onclick: () => command(`/api/gateways/${encodeURIComponent(g.gateway)}/status`, {}) }, t("ask_status")) : null))),
    el("h2", {}, t("commands")),
    el("ul", { id: "commands" }, cmds.commands.length ? cmds.commands.map(commandRow) : el("li", { class: "empty" }, t("none"))));
}

const again = coalesce(refresh);
live((k) => (k === "devices" || k === "alarms" || k === "commands") && again());
again();
