// Plugs the BLE globals into a simulated device: a GlobalProvider (simulator/espruino/runtime.ts) that
// gives each power-on of the device `NRF` and `Bluetooth` bound to one SimBlePeripheral. The peripheral
// outlives power cycles (same address, registered once on the radio); each power-on starts with a
// fresh GATT table, and the runtime's death (power off, reboot) drops the link as a real board does.
//
//   const periph = new SimBlePeripheral({ name: "Puck.js 1001", attMtu: 53 });
//   radio.addPeripheral(periph);
//   const dev = new SimDevice({ board: "alarm-nrf52", clock, providers: [bleProvider(periph)] });
import type { GlobalProvider } from "../espruino/runtime.ts";
import { createEspruinoBle } from "./espruino-ble.ts";
import type { SimBlePeripheral } from "./peripheral.ts";

export function bleProvider(periph: SimBlePeripheral): GlobalProvider {
  return (rt) => {
    let alive = true;
    // Created on first use, i.e. after the runtime marked its built-ins, so the memory estimate counts
    // what it holds; a non-enumerable global the firmware does not see by iterating.
    let holder: Record<string, unknown> | null = null;
    const ble = createEspruinoBle(periph, {
      // an Espruino event: runs from the device's own event queue, at the device's current time
      event: (fn, self, args) => {
        rt.later(0, () => rt.invoke(fn, args, self));
      },
      arrayBuffer: (b) => rt.realm.arrayBuffer(b),
      alive: () => alive && !rt.dead,
      setConsole: (name) => rt.setConsole(name),
      batteryVolts: () => rt.host.batteryMv() / 1000,
      hold: (name, items) => {
        if (!holder) {
          holder = rt.realm.obj({});
          Object.defineProperty(rt.realm.global, "\xFFble", { value: holder, enumerable: false, configurable: true, writable: false });
        }
        holder[name] = rt.realm.array(items);
      },
    });
    return {
      // realm objects, so the firmware never holds a Node function and host errors become its Errors
      globals: { NRF: rt.realm.obj(ble.NRF), Bluetooth: rt.realm.obj(ble.Bluetooth) },
      onKill: () => {
        alive = false;
        periph.powerOff();
      },
    };
  };
}
