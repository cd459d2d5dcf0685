// Settings (manager; every change audited) and the append-only audit log.
import { api, boot, el, flash, fmtTime, t } from "/app.js";

const me = await boot("admin", "audit.view");
const content = document.getElementById("content");

async function draw() {
  const [s, log] = await Promise.all([api("/api/settings"), api("/api/audit?limit=200")]);
  const inputs = {};
  const fields = Object.keys(s).map((k) => {
    inputs[k] = el("input", { id: `s-${k}`, value: s[k], type: k === "escalationWebhook" ? "url" : "number", disabled: !me.permissions.includes("settings.edit") || null });
    return [el("label", { for: `s-${k}` }, t("s_" + k)), inputs[k]];
  });
  content.replaceChildren(
    el("h1", {}, t("admin")),
    el("section", { class: "card" }, el("h2", {}, t("settings")), fields,
      el("div", { class: "actions" }, el("button", { type: "button", class: "primary", onclick: async () => {
        const body = {};
        for (const [k, inp] of Object.entries(inputs)) {
          const v = k === "escalationWebhook" ? inp.value.trim() : Number(inp.value);
          if (v !== s[k]) body[k] = v;
        }
        try { if (Object.keys(body).length) await api("/api/settings", { method: "PUT", body }); flash(t("saved"), "ok"); await draw(); } catch (e) { flash(e.message); }
      } }, t("save")))),
    el("h2", {}, t("audit")),
    el("div", { class: "table-wrap" }, el("table", { id: "audit" },
      el("thead", {}, el("tr", {}, [t("when"), t("who"), t("what"), t("target"), ""].map((h) => el("th", {}, h)))),
      el("tbody", {}, log.entries.map((e) => el("tr", {}, el("td", {}, fmtTime(e.at)), el("td", {}, `${e.actor} (${e.role})`), el("td", {}, e.action), el("td", {}, e.target + (e.patient_id ? ` · ${e.patient_id}` : "")), el("td", { class: "muted" }, JSON.stringify(e.detail))))))));
}
await draw();
