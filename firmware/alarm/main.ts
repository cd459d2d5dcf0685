// Entry point of the alarm-button bundle (dist/firmware/alarm-*.js, saved as .bootcde).
// Without an identity in Storage "varde.id" the device cannot authenticate: it leaves the console on
// the data port (so `varde flash` / a technician can provision it) and shows the fault pattern.
import { board, firmwareVersion } from "../core/board.ts";
import { loadIdentity } from "../core/link.ts";
import { createEspruinoHal } from "../espruino/hal.ts";
import { AlarmApp } from "./alarm.ts";
import { Indicator } from "./indicator.ts";

const b = board();
const hal = createEspruinoHal(b);
const ident = loadIdentity(hal);
if (ident) {
  const app = new AlarmApp(hal, b, firmwareVersion(), ident);
  app.start();
} else {
  hal.maintenance();
  hal.log("varde: no identity in Storage varde.id: provision this device (varde flash --device <id>)");
  new Indicator(hal, b.pins).set("fault");
}
