import { api, flash, t, lang } from "/app.js";

const $ = (id) => document.getElementById(id);
document.documentElement.lang = lang() ? "en" : "nb";
$("sub").textContent = t("app_sub");
$("l-user").textContent = t("username");
$("l-pass").textContent = t("password");
$("go").textContent = t("login");
$("lang").textContent = t("language");
$("lang").addEventListener("click", () => {
  localStorage.setItem("varde.lang", lang() ? "nb" : "en");
  location.reload();
});
$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    const r = await api("/api/login", { method: "POST", body: { username: $("username").value.trim().toLowerCase(), password: $("password").value } });
    const next = new URLSearchParams(location.search).get("next");
    const home = r.user.role === "technician" ? "/devices.html" : r.user.role === "manager" ? "/report.html" : r.user.role === "nurse" ? "/followup.html" : "/alarms.html";
    location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : home;
  } catch (err) {
    flash(err.message);
  }
});
