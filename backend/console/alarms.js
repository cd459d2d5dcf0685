// The alarm queue: open alarms, highest priority first, oldest first; a sound while a real alarm is
// unclaimed; claim → acknowledge (the wearer's button turns green) → close with a note.
import { api, boot, coalesce, el, flash, fmtTime, live, t } from "/app.js";

const me = await boot("alarms", "alarms.view");
const content = document.getElementById("content");
let audio = null;
let soundOn = localStorage.getItem("varde.sound") !== "off";
let ringing = false;

const soundBtn = el("button", { type: "button", id: "sound", class: "noprint" });
function drawSound() {
  soundBtn.textContent = (!soundOn ? t("sound_off") : audio && audio.state === "running" ? t("sound_on") : t("sound_enable")) + (ringing && soundOn ? ` · ${t("sound_ringing")}` : "");
  document.body.dataset.sound = ringing && soundOn ? "ringing" : "quiet";
}
soundBtn.addEventListener("click", async () => {
  if (soundOn && (!audio || audio.state !== "running")) {
    audio = audio ?? new AudioContext();
    await audio.resume();
  } else soundOn = !soundOn;
  localStorage.setItem("varde.sound", soundOn ? "on" : "off");
  drawSound();
});
setInterval(() => {
  if (!ringing || !soundOn) return;
  if (!audio) (audio = new AudioContext()), drawSound(); // browsers may keep it suspended until a click: the button says so
  if (audio.state !== "running") return drawSound();
  const o = audio.createOscillator();
  const g = audio.createGain();
  o.frequency.value = 880;
  g.gain.value = 0.2;
  o.connect(g).connect(audio.destination);
  o.start();
  o.stop(audio.currentTime + 0.35);
}, 1500);

const title = (a) => (a.category === "test" ? t("t_test") : a.title === "alarm" ? t("t_alarm") : a.title === "alarm_hold" ? t("t_alarm_hold") : a.title === "device_lost" ? t("t_device_lost") : a.title.startsWith("fault:") ? `${t("faults")}: ${a.title.slice(6)}` : a.title);

async function act(a, what, body) {
  try {
    await api(`/api/alarms/${a.id}/${what}`, { method: "POST", body: body ?? {} });
    await refresh();
  } catch (e) {
    flash(e.message);
  }
}

function card(a) {
  const can = me.permissions.includes("alarms.act");
  const facts = el("dl", { class: "facts" },
    el("dt", {}, t("patient")), el("dd", { class: "patient" }, a.patient ? a.patient.name : t("unknown_patient")),
    el("dt", {}, t("device")), el("dd", {}, `${a.device}${a.label ? " · " + a.label : ""}`),
    el("dt", {}, t("pressed")), el("dd", {}, fmtTime(a.pressedAt * 1000)),
    el("dt", {}, t("received")), el("dd", {}, fmtTime(a.storedAt)),
    a.claimedBy && [el("dt", {}, t("claimed")), el("dd", {}, `${a.claimedBy} · ${fmtTime(a.claimedAt)}`)],
    a.ackBy && [el("dt", {}, t("acknowledged")), el("dd", { class: "ack" }, `${a.ackBy} · ${fmtTime(a.ackAt)} · `, el("strong", {}, a.ackDeliveredAt ? `✓ ${t("seen")} ${fmtTime(a.ackDeliveredAt)}` : a.ackCommandState === "failed" ? "✗ failed" : t("sent")))],
    a.closedBy && [el("dt", {}, t("closed")), el("dd", {}, `${a.closedBy} · ${fmtTime(a.closedAt)}`)],
    a.note && [el("dt", {}, t("note")), el("dd", { class: "note" }, a.note)],
    a.escalatedAt && [el("dt", {}, t("escalated")), el("dd", {}, `${fmtTime(a.escalatedAt)}${a.escalationResult ? " · " + a.escalationResult : ""}`)]);
  const actions = el("div", { class: "actions noprint" });
  if (can && a.state === "open") actions.append(el("button", { type: "button", class: "primary", "data-act": "claim", onclick: () => act(a, "claim") }, t("claim")));
  if (can && a.category !== "technical" && (a.state === "open" || (a.state === "claimed" && a.claimedBy === me.user.username)))
    actions.append(el("button", { type: "button", class: "primary", "data-act": "ack", onclick: () => act(a, "ack") }, t("ack")));
  if (can && a.state !== "closed") {
    const note = el("textarea", { rows: 2, placeholder: t("note_ph"), "aria-label": t("note"), maxlength: 2000 });
    actions.append(el("div", { class: "closebox" }, note, el("button", { type: "button", "data-act": "close", onclick: () => act(a, "close", { note: note.value }) }, t("close"))));
  }
  return el("article", { class: `card acard p${a.priority} ${a.state === "open" && !a.cancelled ? "unclaimed" : ""}`, "data-alarm-id": a.id, "data-state": a.state, "data-device": a.device },
    el("div", { class: "head" },
      el("span", { class: `tag ${a.category}` }, t("cat_" + a.category)),
      a.cancelled && el("span", { class: "tag cancelled" }, t("cancelled")),
      a.escalatedAt && el("span", { class: "tag escalated" }, t("escalated")),
      el("span", { class: "title" }, title(a)),
      el("span", { class: "muted state" }, t("s_" + a.state))),
    facts, actions);
}

async function refresh() {
  const [open, all] = await Promise.all([api("/api/alarms"), api("/api/alarms?all=1&limit=40")]);
  ringing = open.alarms.some((a) => a.state === "open" && !a.cancelled && a.category !== "test");
  drawSound();
  // keep what someone is typing in a note
  const typing = document.activeElement?.tagName === "TEXTAREA" ? document.activeElement.closest("[data-alarm-id]")?.dataset.alarmId : null;
  if (typing && open.alarms.some((a) => String(a.id) === typing)) return;
  const closed = all.alarms.filter((a) => a.state === "closed").slice(0, 10);
  content.replaceChildren(
    el("div", { class: "pagehead" }, el("h1", {}, `${t("open_alarms")} (${open.alarms.length})`), soundBtn),
    el("section", { id: "queue" }, open.alarms.length ? open.alarms.map(card) : el("p", { class: "empty" }, t("none"))),
    el("h2", {}, t("closed_recent")),
    el("section", { id: "closed" }, closed.length ? closed.map(card) : el("p", { class: "empty" }, t("none"))));
}

const again = coalesce(refresh);
live((kind) => (kind === "alarms" || kind === "commands" || kind === "devices") && again());
again();
