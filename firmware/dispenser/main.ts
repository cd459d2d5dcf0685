// Entry point of the dispenser bundle (dist/firmware/dispenser-*.js, run from flash by the boot loader).
// Without an identity in Storage "varde.id" the device cannot authenticate: it leaves the console on
// the data port (so `varde flash` / a technician can provision it), keeps the motor off and lights red.
import { log } from "../hal/hal.ts";
import { startDispenser } from "./app.ts";

if (!startDispenser()) log("varde: no identity in Storage varde.id: provision this device (varde flash --device <id>)");
