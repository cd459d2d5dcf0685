// Shared by every console page: text in Norwegian (bokmål) first, English on request; the JSON API with
// the session cookie and the CSRF token; the navigation; server push (SSE) and small DOM helpers.
// Data is only ever put into the page as text (textContent / el()), never as HTML, so a name or a note
// that contains markup shows as typed and cannot run.

const TEXT = {
  app: ["Varde – responssenter og hjemmetjeneste", "Varde – response centre and home care"], app_sub: ["Responssenter og hjemmetjeneste", "Response centre and home care"],
  alarms: ["Alarmer", "Alarms"], devices: ["Enheter", "Devices"], patients: ["Pasienter", "Patients"],
  followup: ["Oppfølging", "Follow-up"], report: ["Gevinstrapport", "Benefit report"], admin: ["Innstillinger og logg", "Settings and log"],
  logout: ["Logg ut", "Log out"], login: ["Logg inn", "Log in"], username: ["Brukernavn", "Username"], password: ["Passord", "Password"],
  language: ["English", "Norsk"], loading: ["Laster …", "Loading …"], none: ["Ingen", "None"],
  live: ["Direkte", "Live"], offline: ["Frakoblet – prøver igjen", "Disconnected – retrying"],
  sound_on: ["Lyd: på", "Sound: on"], sound_off: ["Lyd: av", "Sound: off"], sound_enable: ["Slå på lyd", "Enable sound"], sound_ringing: ["♪ ringer", "♪ ringing"],
  s_open: ["ny – ikke tatt", "new – unclaimed"], s_claimed: ["tatt", "claimed"], s_acknowledged: ["kvittert", "acknowledged"], s_closed: ["lukket", "closed"],
  gw_outbox: ["kø i gatewayen", "gateway outbox"],
  open_alarms: ["Åpne alarmer", "Open alarms"], closed_recent: ["Siste lukkede", "Recently closed"],
  cat_alarm: ["ALARM", "ALARM"], cat_technical: ["TEKNISK", "TECHNICAL"], cat_test: ["TEST", "TEST"],
  cancelled: ["AVBRUTT av brukeren", "CANCELLED by the wearer"], escalated: ["ESKALERT", "ESCALATED"],
  t_alarm: ["Trykk på alarmknapp", "Alarm button pressed"], t_test: ["Testalarm", "Test alarm"], t_alarm_hold: ["Alarm (langt trykk)", "Alarm (long hold)"], t_device_lost: ["Mistet kontakt med enhet", "Device lost"],
  pressed: ["Trykket", "Pressed"], received: ["Mottatt", "Received"], claimed: ["Tatt av", "Claimed by"], acknowledged: ["Kvittert av", "Acknowledged by"],
  seen: ["sett av enheten", "seen by the device"], sent: ["sendt, venter på enheten", "sent, waiting for the device"], closed: ["Lukket av", "Closed by"],
  claim: ["Ta alarmen", "Claim"], ack: ["Kvitter (grønt lys hos bruker)", "Acknowledge (green light for the wearer)"], close: ["Lukk med notat", "Close with note"],
  note: ["Notat", "Note"], note_ph: ["Hva skjedde, hva ble gjort", "What happened, what was done"],
  patient: ["Pasient", "Patient"], device: ["Enhet", "Device"], unknown_patient: ["ukjent pasient", "unknown patient"],
  state: ["Tilstand", "State"], battery: ["Batteri", "Battery"], outbox: ["Kø på enheten", "Device backlog"], last_seen: ["Sist hørt", "Last seen"],
  firmware: ["Fastvare", "Firmware"], history: ["Historikk", "History"], faults: ["Feil", "Faults"],
  st_lost: ["Mistet", "Lost"], st_fault: ["Feil", "Fault"], st_battery: ["Batteri lavt", "Battery low"], st_backlog: ["Kø / påfyll", "Backlog / refill"], st_ok: ["OK", "OK"],
  days_left: ["dager igjen", "days left"], lost: ["mistet", "lost"], back: ["tilbake", "back"],
  ask_status: ["Be om status", "Ask for status"], cmd_sent: ["Kommando sendt", "Command sent"], test_alarm: ["Send testalarm", "Send a test alarm"], set_hb: ["Sett hjerteslag (s)", "Set heartbeat (s)"], send: ["Send", "Send"],
  gateways: ["Gatewayer", "Gateways"], online: ["tilkoblet", "online"], offline_gw: ["frakoblet", "offline"],
  commands: ["Kommandoer", "Commands"],
  timeline: ["Dosetidslinje", "Dose timeline"], adherence: ["Etterlevelse per uke", "Adherence per week"], scheduled: ["Planlagt", "Scheduled"],
  w_taken: ["Tatt", "Taken"], w_missed: ["Glemt", "Missed"], w_not_collected: ["Ikke hentet", "Not collected"], w_reminder: ["Påminnelse", "Reminder"],
  w_dispensed: ["Utlevert på forhånd (reise)", "Dispensed ahead (travel)"], w_released: ["Glemt dose falt ut (strømbrudd)", "Missed dose released (power cut)"],
  w_released_cleared: ["Utløst dose fjernet", "Released dose cleared"], w_refill_needed: ["Trenger påfyll", "Refill needed"], w_refilled: ["Påfylt", "Refilled"],
  late_by: ["forsinket", "late by"], min: ["min", "min"], assisted: ["med hjelp", "assisted"], travel: ["reise", "travel"],
  schedule: ["Doseplan", "Schedule"], times: ["Klokkeslett (TT:MM, komma mellom)", "Times (HH:MM, comma separated)"], set_schedule: ["Send doseplan", "Send schedule"],
  refill: ["Bekreft påfyll", "Confirm refill"], doses_loaded: ["Doser lagt i", "Doses loaded"],
  fu_open: ["Ikke fulgt opp", "Not followed up"], fu_done: ["Fulgt opp av", "Followed up by"], fu_do: ["Registrer oppfølging", "Record follow-up"],
  period_week: ["Per uke", "Per week"], period_month: ["Per måned", "Per month"], csv: ["Last ned CSV", "Download CSV"], print: ["Skriv ut", "Print"],
  r_unassisted: ["Doser uten besøk", "Doses without a visit"], r_visits: ["Sparte besøk", "Visits avoided"], r_hours: ["Sparte timer", "Hours saved"],
  r_alarms: ["Alarmer", "Alarms"], r_median: ["Responstid median", "Response time median"], r_p90: ["Responstid 90-persentil", "Response time 90th pct"],
  r_within: ["Innen fristen", "Within the limit"], r_missed: ["Glemte doser", "Missed doses"], r_assisted: ["Doser med hjelp", "Assisted doses"],
  assumptions: ["Forutsetninger", "Assumptions"], a_visit: ["Minutter per besøk", "Minutes per visit"], a_drive: ["Kjøreminutter per besøk", "Driving minutes per visit"],
  a_limit: ["Kommunens frist for responstid (min)", "Municipality's response-time limit (min)"],
  a_text: ["Ett hjemmebesøk spart per dose utlevert uten hjelp (VKP 1.1). Responstid = kvittert av responssenteret − trykket på knappen (ekte alarmer, ikke test eller avbrutt).",
    "One home visit avoided per dose handed out unassisted (VKP 1.1). Response time = acknowledged by the response centre − pressed on the button (real alarms, not tests or cancels)."],
  settings: ["Innstillinger", "Settings"], save: ["Lagre", "Save"], saved: ["Lagret", "Saved"], audit: ["Revisjonslogg", "Audit log"],
  s_escalationAfterS: ["Eskaler ukvitterte alarmer etter (sekunder)", "Escalate unclaimed alarms after (seconds)"], s_escalationWebhook: ["Webhook ved eskalering (URL)", "Escalation webhook (URL)"],
  s_minutesPerVisit: ["Minutter per besøk", "Minutes per visit"], s_drivingMinutesPerVisit: ["Kjøreminutter per besøk", "Driving minutes per visit"], s_responseLimitMin: ["Responstidsfrist (minutter)", "Response-time limit (minutes)"],
  when: ["Tid", "When"], who: ["Hvem", "Who"], what: ["Hva", "What"], target: ["Gjelder", "Target"],
  no_access: ["Du har ikke tilgang til denne siden.", "You have no access to this page."],
  total: ["Totalt", "Total"], show_all: ["Vis alt", "Show all"], left: ["igjen", "left"], week: ["Uke", "Week"], period: ["Periode", "Period"],
};

export const lang = () => (localStorage.getItem("varde.lang") === "en" ? 1 : 0);
export function t(key) {
  const v = TEXT[key];
  return v ? v[lang()] : key;
}

/** Element with attributes and children (strings become text nodes: never HTML). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}

const TZ = "Europe/Oslo";
export function fmtTime(ms) {
  if (!ms) return "–";
  return new Intl.DateTimeFormat(lang() ? "en-GB" : "nb-NO", { timeZone: TZ, day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(ms);
}
export function fmtDay(ms) {
  return new Intl.DateTimeFormat(lang() ? "en-GB" : "nb-NO", { timeZone: TZ, weekday: "long", day: "numeric", month: "long" }).format(ms);
}
export function fmtClock(ms) {
  return new Intl.DateTimeFormat("nb-NO", { timeZone: TZ, hour: "2-digit", minute: "2-digit" }).format(ms);
}
export function fmtAgo(s) {
  if (s === null || s === undefined) return "–";
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} t`;
  return `${Math.round(s / 86400)} d`;
}

let me = null;
export async function api(path, opts = {}) {
  const headers = { accept: "application/json" };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.method && opts.method !== "GET" && me) headers["x-csrf-token"] = me.csrf;
  const r = await fetch(path, { method: opts.method ?? "GET", headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), credentials: "same-origin" });
  const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (r.status === 401 && !path.endsWith("/login")) {
    location.href = "/login.html?next=" + encodeURIComponent(location.pathname + location.search);
    throw new Error(body.error);
  }
  if (!r.ok) throw new Error(body.error ?? `HTTP ${r.status}`);
  return body;
}

export function flash(msg, kind = "error") {
  const box = document.getElementById("flash");
  if (!box) return alert(msg);
  box.replaceChildren(el("div", { class: `flash ${kind}`, role: kind === "error" ? "alert" : "status" }, msg));
  if (kind !== "error") setTimeout(() => box.replaceChildren(), 3000);
}

const NAV = [
  ["alarms", "/alarms.html", "alarms.view"], ["devices", "/devices.html", "devices.view"], ["patients", "/patients.html", "patients.view"],
  ["followup", "/followup.html", "patients.view"], ["report", "/report.html", "report.view"], ["admin", "/admin.html", "audit.view"],
];

/** Loads the user (or goes to the login page), draws the header; returns the user info. */
export async function boot(page, needs) {
  me = await api("/api/me");
  document.documentElement.lang = lang() ? "en" : "nb";
  document.title = `${t(page)} – Varde`;
  const nav = el("nav", { class: "nav", "aria-label": "meny" },
    NAV.filter(([, , p]) => me.permissions.includes(p)).map(([k, href]) => el("a", { href, class: k === page ? "active" : "", "aria-current": k === page ? "page" : null }, t(k))));
  const status = el("span", { id: "live", class: "live" }, "");
  const header = el("header", { class: "top" },
    el("div", { class: "brand" }, el("strong", {}, "Varde"), " ", el("span", { class: "who" }, `${me.user.name} · ${me.user.role}${me.user.team ? " · " + me.user.team : ""}`)),
    nav,
    el("div", { class: "tools" }, status,
      el("button", { type: "button", class: "link", onclick: () => { localStorage.setItem("varde.lang", lang() ? "nb" : "en"); location.reload(); } }, t("language")),
      el("button", { type: "button", class: "link", onclick: async () => { await api("/api/logout", { method: "POST" }); location.href = "/login.html"; } }, t("logout"))));
  document.body.prepend(header);
  if (needs && !me.permissions.includes(needs)) {
    document.getElementById("main").replaceChildren(el("p", { class: "empty" }, t("no_access")));
    return null;
  }
  return me;
}

/** Server push: calls onChange(kind) for each change the server announces; shows live/offline. */
export function live(onChange) {
  const es = new EventSource("/api/stream");
  const mark = (ok) => {
    const s = document.getElementById("live");
    if (s) (s.textContent = ok ? "● " + t("live") : "○ " + t("offline")), (s.className = ok ? "live on" : "live off");
  };
  es.onopen = () => mark(true);
  es.onerror = () => mark(false);
  es.addEventListener("change", (m) => onChange(JSON.parse(m.data).kind));
  return es;
}

/** Re-runs fn at most once per animation frame however many changes arrive. */
export function coalesce(fn) {
  let queued = false;
  let again = false;
  const run = async () => {
    queued = true;
    try {
      await fn();
    } catch (e) {
      flash(e.message);
    }
    queued = false;
    if (again) (again = false), run();
  };
  return () => (queued ? (again = true) : run());
}

/** A bar chart as SVG (no library): values with labels; null values are left out. */
export function barChart(items, { unit = "", max, height = 160, limit } = {}) {
  const NS = "http://www.w3.org/2000/svg";
  const w = Math.max(320, items.length * 44 + 24);
  const top = max ?? Math.max(1, ...items.map((i) => i.value ?? 0), limit ?? 0);
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${height + 40}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  const mk = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.append(e);
    return e;
  };
  items.forEach((it, i) => {
    const x = 16 + i * 44;
    if (it.value !== null && it.value !== undefined) {
      const h = Math.round((it.value / top) * height);
      mk("rect", { x, y: height - h + 10, width: 30, height: Math.max(h, 1), class: `bar ${it.cls ?? ""}` });
      mk("text", { x: x + 15, y: height - h + 5, "text-anchor": "middle", class: "val" }, `${it.value}${unit}`);
    }
    mk("text", { x: x + 15, y: height + 28, "text-anchor": "middle", class: "lbl" }, it.label);
  });
  if (limit !== undefined) {
    const y = height - Math.round((limit / top) * height) + 10;
    mk("line", { x1: 0, x2: w, y1: y, y2: y, class: "limit" });
  }
  return svg;
}
