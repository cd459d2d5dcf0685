// Every console page has the same HTML shell (page.html, served for /alarms.html, /devices.html, ...);
// this loads the page's own module, named like the page. A request cut off because the user is
// leaving the page is not an error worth showing.
import { flash } from "/app.js";

let leaving = false;
addEventListener("pagehide", () => (leaving = true));
addEventListener("beforeunload", () => (leaving = true));
addEventListener("unhandledrejection", (e) => {
  if (leaving) return e.preventDefault();
});
const name = location.pathname.replace(/^\/|\.html$/g, "") || "alarms";
try {
  await import(`/${/^[a-z]+$/.test(name) ? name : "alarms"}.js`);
} catch (e) {
  if (!leaving) flash(e.message);
}
