// Missed and not-collected doses of the user's patients: open ones first; a nurse records what she did.
import { api, boot, coalesce, el, flash, fmtTime, live, t } from "/app.js";

const me = await boot("followup", "patients.view");
const content = document.getElementById("content");

function item(f) {
  const note = el("textarea", { rows: 2, placeholder: t("note_ph"), "aria-label": t("note"), maxlength: 2000 });
  return el("article", { class: `card acard ${f.followup ? "" : "p2"}`, "data-event": f.eventId, "data-open": f.followup ? "0" : "1" },
    el("div", { class: "head" }, el("span", { class: `tag ${f.followup ? "st-ok" : "st-fault"}` }, f.followup ? t("fu_done") + " " + f.followup.by : t("fu_open")),
      el("span", { class: "title" }, t("w_" + f.what)),
      f.patient ? el("a", { href: `/patients.html?id=${encodeURIComponent(f.patient.id)}`, class: "patient" }, f.patient.name) : el("span", {}, t("unknown_patient"))),
    el("dl", { class: "facts" }, el("dt", {}, t("scheduled")), el("dd", {}, fmtTime((f.scheduled ?? f.time) * 1000)), el("dt", {}, t("device")), el("dd", {}, String(f.device)),
      f.followup && [el("dt", {}, t("fu_done")), el("dd", {}, `${f.followup.by} · ${fmtTime(f.followup.at)}`), el("dt", {}, t("note")), el("dd", { class: "note" }, f.followup.note)]),
    !f.followup && me.permissions.includes("doses.act") ? el("div", { class: "actions noprint" }, note, el("button", { type: "button", class: "primary", onclick: async () => {
      try { await api(`/api/followups/${encodeURIComponent(f.eventId)}`, { method: "POST", body: { note: note.value } }); await again(); } catch (e) { flash(e.message); }
    } }, t("fu_do"))) : null);
}

async function refresh() {
  if (document.activeElement?.tagName === "TEXTAREA") return;
  const r = await api("/api/followups");
  const open = r.followups.filter((f) => !f.followup).length;
  content.replaceChildren(el("h1", {}, `${t("followup")} (${open} ${t("fu_open").toLowerCase()})`), el("section", { id: "followups" }, r.followups.length ? r.followups.map(item) : el("p", { class: "empty" }, t("none"))));
}
const again = coalesce(refresh);
live((k) => k === "doses" && again());
again();
