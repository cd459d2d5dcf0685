// The benefit report (gevinstrealisering): doses handed out without a visit, visits and hours avoided,
// the alarm chain's response times against the municipality's limit; charts, CSV, a printable page,
// and the assumptions beside the figures.
import { api, barChart, boot, el, fmtTime, t } from "/app.js";

await boot("report", "report.view");
const content = document.getElementById("content");
const q = new URLSearchParams(location.search);
const period = q.get("period") === "month" ? "month" : "week";

const r = await api(`/api/report?period=${period}`);
const a = r.assumptions;
const mins = (s) => (s === null ? "–" : s < 120 ? `${s} s` : `${Math.round(s / 6) / 10} min`);
content.replaceChildren(
  el("h1", {}, `${t("report")} · ${period === "week" ? t("period_week") : t("period_month")}`),
  el("p", { class: "muted" }, `${fmtTime(r.fromS * 1000)} – ${fmtTime(r.toS * 1000)}`),
  el("div", { class: "actions noprint" },
    el("a", { href: `/report.html?period=${period === "week" ? "month" : "week"}` }, el("button", { type: "button" }, period === "week" ? t("period_month") : t("period_week"))),
    el("a", { href: `/api/report.csv?period=${period}`, download: `varde-gevinst-${period}.csv` }, el("button", { type: "button" }, t("csv"))),
    el("button", { type: "button", onclick: () => print() }, t("print"))),
  el("div", { class: "kpis" },
    el("div", { class: "kpi" }, t("r_unassisted"), el("b", { id: "k-doses" }, String(r.totals.unassistedDoses))),
    el("div", { class: "kpi" }, t("r_visits"), el("b", {}, String(r.totals.avoidedVisits))),
    el("div", { class: "kpi" }, t("r_hours"), el("b", { id: "k-hours" }, String(r.totals.avoidedHours))),
    el("div", { class: "kpi" }, t("r_alarms"), el("b", {}, String(r.totals.alarms)))),
  el("section", { class: "card", id: "assumptions" }, el("h2", {}, t("assumptions")),
    el("dl", { class: "facts" }, el("dt", {}, t("a_visit")), el("dd", {}, String(a.minutesPerVisit)), el("dt", {}, t("a_drive")), el("dd", {}, String(a.drivingMinutesPerVisit)), el("dt", {}, t("a_limit")), el("dd", {}, String(a.responseLimitMin))),
    el("p", { class: "muted" }, t("a_text"))),
  el("div", { class: "grid2" },
    el("section", {}, el("h2", {}, t("r_hours")), barChart(r.rows.map((x) => ({ label: x.period.replace(/^\d{4}-/, ""), value: x.avoidedHours })))),
    el("section", {}, el("h2", {}, `${t("r_median")} (s)`), barChart(r.rows.map((x) => ({ label: x.period.replace(/^\d{4}-/, ""), value: x.responseMedianS, cls: x.responseMedianS !== null && x.responseMedianS > a.responseLimitMin * 60 ? "bad" : "good" })), { limit: a.responseLimitMin * 60 }))),
  el("div", { class: "table-wrap" }, el("table", { id: "report-table" },
    el("thead", {}, el("tr", {}, [t("period"), t("r_unassisted"), t("r_assisted"), t("r_missed"), t("r_visits"), t("r_hours"), t("r_alarms"), t("r_median"), t("r_p90"), t("r_within")].map((h) => el("th", {}, h)))),
    el("tbody", {}, r.rows.length ? r.rows.map((x) => el("tr", {}, [x.period, x.unassistedDoses, x.assistedDoses, x.missedDoses, x.avoidedVisits, x.avoidedHours, x.alarms, mins(x.responseMedianS), mins(x.responseP90S), x.withinLimitPct === null ? "–" : `${x.withinLimitPct} %`].map((v) => el("td", {}, String(v))))) : el("tr", {}, el("td", { colspan: 10, class: "empty" }, t("none")))))));
