// Hours of BLE in virtual time: the real nRF52 alarm bundle, the simulated radio with seeded faults and
// link losses, the gateway's BleTransport (its reconnect/backoff logic on the virtual clock) and a
// protocol-exact virtual gateway (simulator/scenarios/virtual-gateway.ts). Alarms are raised at random
// instants; each must reach the gateway exactly once (after dedup) and be acknowledged on the LEDs.
// BLE_SOAK_HOURS=N for a longer run (default 6 h of device time, about two seconds of wall time).
import { describe, expect, it } from "vitest";
import { buildFirmware } from "../../firmware/build/index.ts";
import { BleTransport } from "../../gateway/transports/ble.ts";
import type { Link } from "../../gateway/transports/transport.ts";
import { SimDevice, VirtualClock } from "../../simulator/index.ts";
import { VirtualGateway } from "../../simulator/scenarios/virtual-gateway.ts";
import { BleRadio, FakeNoble, SimBlePeripheral, bleProvider, clockScheduler, clockTimers } from "../../simulator/ble/index.ts";
import { loadBoard } from "../../hardware/boards.ts";
import { alarmLedState } from "../../cli/demo/alarm-indicator.ts";

const HOURS = Number(process.env.BLE_SOAK_HOURS ?? 6);
const ID = 77;
const KEY_HEX = "5a".repeat(32);

describe("BLE soak in virtual time", () => {
  it(`${HOURS} h: link losses every few minutes, seeded radio faults; every alarm delivered once and acknowledged`, async () => {
    const board = loadBoard("alarm-nrf52");
    const fw = await buildFirmware("alarm-nrf52", { noWrite: true });
    const clock = new VirtualClock({ seed: 21 });
    const rng = clock.rng.fork("soak");
    const radio = new BleRadio({ scheduler: clockScheduler(clock), seed: 21, faults: { notifyDrop: 0.02, notifyCorrupt: 0.02, writeCorrupt: 0.01, disconnectPerPacket: 0.002 } });
    // BLE_TX_QUEUE=n: the SoftDevice's notification queue (default unlimited; see simulator/ble/README.md)
    const periph = SimBlePeripheral.forBoard(board, { txQueue: process.env.BLE_TX_QUEUE ? Number(process.env.BLE_TX_QUEUE) : undefined });
    radio.addPeripheral(periph);
    const dev = new SimDevice({ board, clock, providers: [bleProvider(periph)], rtc: "keep" });
    dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: ID, key: KEY_HEX, kind: "alarm" })));
    dev.install(fw.code);
    dev.powerOn();

    let link: Link | null = null;
    const gw = new VirtualGateway({ clock, key: new Uint8Array(Buffer.from(KEY_HEX, "hex")), deviceId: ID, write: (b) => void link?.write(b).catch(() => undefined), retryMs: 2000 });
    gw.setOnline(false);
    let links = 0;
    const transport = new BleTransport({
      service: board.data.service!,
      toDevice: board.data.to_device!,
      fromDevice: board.data.from_device!,
      noble: new FakeNoble(radio),
      timers: clockTimers(clock),
      backoffMinMs: 1000,
      backoffMaxMs: 20_000,
    });
    await transport.start((l) => {
      links++;
      link = l;
      l.on("data", (b) => gw.receive(b));
      l.on("close", () => {
        if (link === l) link = null;
        gw.setOnline(false);
      });
      gw.setOnline(true);
    });

    /** advances virtual time in small steps, letting the transport's promise continuations run between them */
    const run = async (ms: number) => {
      const end = clock.now() + ms;
      while (clock.now() < end) {
        clock.runFor(Math.min(25, end - clock.now()));
        await new Promise((r) => setImmediate(r));
      }
    };

    const t0 = clock.now();
    const end = t0 + HOURS * 3600_000;
    let presses = 0;
    let acknowledged = 0;
    let nextDrop = t0 + 60_000;
    while (clock.now() < end) {
      // an alarm at a random instant in the next 5..15 minutes, with the link dropped now and then meanwhile
      const at = clock.now() + 300_000 + rng.next() * 600_000;
      while (clock.now() < at) {
        if (clock.now() >= nextDrop) {
          radio.dropConnection(periph.address);
          nextDrop = clock.now() + 120_000 + rng.next() * 480_000;
        }
        await run(Math.min(5_000, at - clock.now()));
      }
      const before = gw.events.filter((e) => e.env.alarm).length;
      dev.button().press(200);
      presses++;
      // within 3 minutes the gateway has it; the responder acknowledges; the LEDs show it
      const deadline = clock.now() + 180_000;
      while (gw.events.filter((e) => e.env.alarm).length === before && clock.now() < deadline) await run(500);
      const alarms = gw.events.filter((e) => e.env.alarm);
      expect(alarms.length, `alarm ${presses} reached the gateway`).toBe(before + 1);
      gw.downlink({ alarmAck: { alarmSeq: alarms[alarms.length - 1].env.seq, responder: "soak" } });
      const ackDeadline = clock.now() + 180_000;
      while (alarmLedState(dev) !== "acknowledged" && clock.now() < ackDeadline) await run(500);
      expect(alarmLedState(dev), `alarm ${presses} acknowledged on the LEDs`).toBe("acknowledged");
      acknowledged++;
    }
    const st = radio.stats;
    console.log(
      `[ble-soak] ${HOURS} h virtual: ${presses} alarms, ${acknowledged} acknowledged; ${links} links, ${st.linkLosses} link losses; ` +
        `notifications ${st.notifications} (dropped ${st.notificationsDropped}, corrupted ${st.notificationsCorrupted}), writes ${st.writes} (corrupted ${st.writesCorrupted}); ` +
        `overflowed ${st.notificationsOverflowed}; gateway: ${gw.events.length} events stored, ${gw.duplicates} duplicates dropped, ${gw.bad} bad frames, ${gw.handshakes} handshakes`,
    );
    expect(presses).toBeGreaterThan(0);
    expect(gw.events.filter((e) => e.env.alarm).length).toBe(presses);
    expect(links).toBeGreaterThan(presses / 2); // the link really came and went
    expect(dev.errors).toEqual([]);
    const stopped = transport.stop();
    await run(1000);
    await stopped;
    expect(radio.idle).toBe(true);
  }, 120_000);
});
