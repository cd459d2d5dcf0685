// Pieces for tests (and the latency bench) that drive the backend's console with real devices behind
// it: a home with the simulated alarm button (real firmware bundle, real time) and a home with the
// simulated dispenser (real bundle, virtual time at `speed` × real time), each behind its own real
// gateway publishing to the given broker with application acks; and headless Chromium (Debian's
// /usr/bin/chromium through playwright-core) with a fresh profile.
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { buildFirmware } from "../../firmware/build/index.ts";
import { loadBoard } from "../../hardware/boards.ts";
import { startGateway, parseConfig, type GatewayHandle } from "../../gateway/index.ts";
import { appendDevice, newDeviceKey } from "../../gateway/registry.ts";
import { RealtimeClock, SimDevice, VirtualClock, createMemoryLinkPair } from "../../simulator/index.ts";
import { DispenserHw } from "../../simulator/peripherals/dispenser.ts";
import { SimLink, gatewayClockOn, pumpClock, until } from "./sim-gateway.ts";

export interface Home {
  gw: GatewayHandle;
  dev: SimDevice;
  stop(): Promise<void>;
}

async function gateway(dir: string, brokerUrl: string, gatewayId: string, device: { id: number; kind: "alarm" | "dispenser"; board: string; key: string; label: string }, clock?: VirtualClock) {
  fs.mkdirSync(dir, { recursive: true });
  appendDevice(path.join(dir, "registry.toml"), { ...device, created: new Date().toISOString() });
  const cfg = parseConfig({ gateway_id: gatewayId, mqtt: { url: brokerUrl, backend_ack: "application", ack_timeout_s: 5, reconnect_ms: 200 }, metrics: { port: -1 }, log: { level: "silent" }, session: { hello_retry_ms: 300 } }, `${gatewayId}.toml`, dir);
  return startGateway(cfg, clock ? { clock: gatewayClockOn(clock) } : {});
}

/** The alarm button (alarm-esp32 bundle) in real time behind gateway `gatewayId`. */
export async function startAlarmHome(o: { dir: string; brokerUrl: string; gatewayId: string; id: number; label?: string }): Promise<Home & { clock: RealtimeClock }> {
  const key = newDeviceKey();
  const gw = await gateway(o.dir, o.brokerUrl, o.gatewayId, { id: o.id, kind: "alarm", board: "alarm-esp32", key, label: o.label ?? "alarm button" });
  const { code } = await buildFirmware("alarm-esp32", { noWrite: true });
  const clock = new RealtimeClock();
  const [devEnd, gwEnd] = createMemoryLinkPair(clock, { delayMs: 2 });
  const dev = new SimDevice({ board: "alarm-esp32", clock, link: devEnd, rtc: "keep" });
  dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: o.id, key, kind: "alarm" })));
  dev.install(code);
  dev.powerOn();
  gw.addLink(new SimLink(gwEnd, `sim:${o.id}`));
  await until(() => (gw.core.status() as any).devices.some((d: any) => d.id === o.id && d.online), 20_000, `alarm button ${o.id} session up`);
  return {
    gw, dev, clock,
    stop: async () => {
      if (dev.powered) dev.powerOff();
      clock.stop();
      await gw.stop();
    },
  };
}

/** The dispenser (dispenser-esp32 bundle with carousel and tray) in virtual time at `speed` × real time. */
export async function startDispenserHome(o: { dir: string; brokerUrl: string; gatewayId: string; id: number; speed: number; label?: string }): Promise<Home & { clock: VirtualClock; hw: DispenserHw }> {
  const key = newDeviceKey();
  const clock = new VirtualClock({ seed: o.id, startMs: Date.now() });
  const gw = await gateway(o.dir, o.brokerUrl, o.gatewayId, { id: o.id, kind: "dispenser", board: "dispenser-esp32", key, label: o.label ?? "dispenser" }, clock);
  const { code } = await buildFirmware("dispenser-esp32", { noWrite: true });
  const board = loadBoard("dispenser-esp32");
  const [devEnd, gwEnd] = createMemoryLinkPair(clock, { delayMs: 2 });
  const dev = new SimDevice({ board, clock, link: devEnd, rtc: "keep" });
  const hw = new DispenserHw({ clock, pins: dev.pins, board });
  dev.flash.write("varde.id", Buffer.from(JSON.stringify({ id: o.id, key, kind: "dispenser" })));
  dev.install(code);
  dev.powerOn();
  hw.applyInputs();
  const stopPump = pumpClock(clock, o.speed);
  gw.addLink(new SimLink(gwEnd, `sim:${o.id}`, () => clock.now()));
  await until(() => (gw.core.status() as any).devices.some((d: any) => d.id === o.id && d.online), 20_000, `dispenser ${o.id} session up`);
  return {
    gw, dev, clock, hw,
    stop: async () => {
      stopPump();
      if (dev.powered) dev.powerOff();
      await gw.stop();
    },
  };
}

export const CHROMIUM = "/usr/bin/chromium";

/** Headless Chromium with a fresh profile in `profileDir` (no network but loopback is used by the tests). */
export async function launchChromium(profileDir: string, viewport = { width: 1280, height: 900 }): Promise<BrowserContext> {
  fs.mkdirSync(profileDir, { recursive: true });
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    locale: "nb-NO",
    timezoneId: "Europe/Oslo",
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"],
  });
}
