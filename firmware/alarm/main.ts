// Entry point of the alarm-button bundle (dist/firmware/alarm-*.js, run from flash by the boot loader).
// Without an identity in Storage "varde.id" the device cannot authenticate: it leaves the console on
// the data port (so `varde flash` / a technician can provision it) and shows the fault pattern.
import { log } from "../hal/hal.ts";
import { startAlarm } from "./app.ts";
import { show, Show } from "./indicator.ts";

if (!startAlarm()) {
  log("varde: no identity in Storage varde.id: provision this device (varde flash --device <id>)");
  show(Show.fault);
}
