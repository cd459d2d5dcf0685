// The demo's alarm button: the real firmware bundle of an alarm board in the simulator, in real time,
// reaching the real gateway the way that board does:
//   serial boards (alarm-esp32): over a real pseudo-terminal pair (socat), a [[transport]] serial in the
//     gateway's configuration — the gateway's serialport path, as with a USB cable;
//   BLE boards (alarm-nrf52): over the simulated radio (simulator/ble), the gateway's own BLE transport
//     driving the simulator's fake BLE central in place of the noble library — scan, connect, pairing,
//     50-byte notifications.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Board } from "../../hardware/boards.ts";
import type { GatewayHandle } from "../../gateway/index.ts";
import { RealtimeClock, SimDevice, openPtyPair, type PtyPair } from "../../simulator/index.ts";
import { BleRadio, FakeNoble, SimBlePeripheral, bleProvider, clockScheduler } from "../../simulator/ble/index.ts";

export interface DemoAlarmButton {
  dev: SimDevice;
  clock: RealtimeClock;
  /** how it reaches the gateway, for the transcript */
  link: string;
  /** gateway.toml lines for its transport ("" when it is added by attach) */
  transportToml: string;
  /** hands the gateway its transport when the configuration cannot (BLE on the simulated radio) */
  attach(gw: GatewayHandle): Promise<void>;
  close(): Promise<void>;
}

export async function startAlarmButton(o: { board: Board; dir: string; id: number; key: string; code: string; consoleLog: string }): Promise<DemoAlarmButton> {
  const clock = new RealtimeClock();
  let pty: PtyPair | null = null;
  let dev: SimDevice;
  let attach: (gw: GatewayHandle) => Promise<void> = async () => undefined;
  let transportToml = "";
  let link: string;
  if (o.board.data.transport === "serial") {
    pty = await openPtyPair(o.dir, "alarm-pty-");
    dev = new SimDevice({ board: o.board, clock, link: pty.device, rtc: "keep", name: `alarm-${o.id}` });
    transportToml = `[[transport]]\ntype = "serial"\npath = "${pty.hostPath}"\nbaud = ${o.board.data.baud ?? 115200}\n`;
    link = `serial over a pseudo-terminal pair (${pty.devicePath} ⇄ ${pty.hostPath})`;
  } else {
    const radio = new BleRadio({ scheduler: clockScheduler(clock), seed: 1, advIntervalMs: 20, connectDelayMs: 5 });
    const periph = SimBlePeripheral.forBoard(o.board, { name: `Puck.js ${o.id}` });
    radio.addPeripheral(periph);
    dev = new SimDevice({ board: o.board, clock, providers: [bleProvider(periph)], rtc: "keep", name: `alarm-${o.id}` });
    link = `BLE on a simulated radio (peripheral ${periph.address}, ${periph.attMtu - 3}-byte notifications) to the gateway's BLE transport`;
    attach = async (gw) => {
      // loaded here: the BLE transport module is only needed for BLE boards
      const { BleTransport } = await import("../../gateway/transports/ble.ts");
      const d = o.board.data;
      await gw.addTransport(new BleTransport({ service: d.service!, toDevice: d.to_device!, fromDevice: d.from_device!, noble: new FakeNoble(radio), backoffMinMs: 200, backoffMaxMs: 1000 }));
    };
  }
  dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: o.id, key: o.key, kind: "alarm" })));
  dev.install(o.code);
  fs.mkdirSync(path.dirname(o.consoleLog), { recursive: true });
  fs.writeFileSync(o.consoleLog, ""); // there even when the firmware prints nothing (it keeps its console quiet)
  dev.onOutput((text) => fs.appendFileSync(o.consoleLog, text));
  return {
    dev,
    clock,
    link,
    transportToml,
    attach,
    close: async () => {
      if (dev.powered) dev.powerOff();
      clock.stop();
      await pty?.close();
    },
  };
}
