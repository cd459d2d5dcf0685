// Public entry of the gateway folder (docs/architecture.md): startGateway(config) → handle.
//   const gw = await startGateway(loadConfig("gateway.toml"));   // or a GatewayConfig object
//   gw.brokerUrl      the broker in use (the embedded one's URL when none is configured)
//   gw.bus.on("event", (e: BusEvent) => console.log(e.text))      readable lines for demos/logs
//   gw.addLink(link)  hand the gateway a Link from any transport (tests, BLE, the simulator)
//   await gw.stop()   graceful: closes links, publishes offline state, flushes and closes the outbox
//   startGateway(cfg, { clock })  the core's time source (gateway/clock.ts), e.g. a simulator's virtual time
import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { loadConfig, parseConfig, type GatewayConfig, type TransportConfig } from "./config.ts";
import { loadRegistry } from "./registry.ts";
import { Store } from "./store/store.ts";
import { Gateway, type BusEvent } from "./gateway.ts";
import { realClock, type GatewayClock } from "./clock.ts";
import { Backend } from "./mqtt/backend.ts";
import type { EmbeddedBroker } from "./mqtt/embedded.ts";
import { Metrics } from "./metrics.ts";
import { lockDataDir } from "./lock.ts";
import type { Link, Transport } from "./transports/transport.ts";
import { TcpConnectTransport, TcpListenTransport } from "./transports/tcp.ts";

export { loadConfig, parseConfig, realClock, type GatewayConfig, type GatewayClock, type BusEvent, type Link, type Transport };
export { TOPICS, topic, filter, parseTopic, COMMANDS, EVENT_TYPES } from "./mqtt/topics.ts";

export interface GatewayHandle {
  config: GatewayConfig;
  brokerUrl: string;
  metricsUrl: string;
  bus: Gateway["bus"];
  core: Gateway;
  /** the store (its outbox view: depth(), full, fault, commits) */
  outbox: Store;
  metrics: Metrics;
  transports: Transport[];
  /** ports bound by tcp-listen transports, in config order */
  listenPorts: number[];
  addLink(link: Link): void;
  addTransport(t: Transport): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** pino destination; default stdout, or [log] file */
  logStream?: pino.DestinationStream;
  /**
   * Time source of the gateway core (gateway/clock.ts): timestamps and the handshake, time-sync,
   * supervision and downlink timers. Default: the wall clock. Tests pass a virtual clock shared with
   * simulated devices; the MQTT client, SQLite and the transports stay on real time.
   */
  clock?: GatewayClock;
  /**
   * Receives every bus event from the moment the core exists, before the broker connection and the
   * transports start: a first connect that fails at once is on the bus before startGateway resolves.
   */
  onBus?: (e: BusEvent) => void;
}

export async function makeTransport(t: TransportConfig, cfg: GatewayConfig, log: (m: string) => void): Promise<Transport> {
  switch (t.type) {
    case "ble": {
      // loaded only when configured: BLE support (noble) is optional
      const { bleTransportForBoard } = await import("./transports/ble.ts");
      return bleTransportForBoard(t.board, { addresses: t.addresses.length ? t.addresses : undefined, log });
    }
    case "serial": {
      const { SerialTransport } = await import("./transports/serial.ts"); // serialport's native binding: loaded when used
      return new SerialTransport({ path: t.path, baudRate: t.baud, reconnectMs: cfg.session.reconnectMs, log });
    }
    case "tcp":
      return new TcpConnectTransport({ host: t.host, port: t.port, reconnectMs: cfg.session.reconnectMs, log });
    case "tcp-listen":
      return new TcpListenTransport({ host: t.host, port: t.port });
  }
}

export async function startGateway(configOrPath: GatewayConfig | string, opts: StartOptions = {}): Promise<GatewayHandle> {
  const config = typeof configOrPath === "string" ? loadConfig(configOrPath) : configOrPath;
  const clock = opts.clock ?? realClock;
  const dest = opts.logStream ?? (config.log.file ? pino.destination({ dest: config.log.file, mkdir: true, sync: false }) : undefined);
  // secrets never reach the log: keys and passwords are redacted wherever they appear
  const logger = pino({ level: config.log.level, base: { gateway: config.gatewayId }, redact: ["password", "key", "*.password", "*.key", "keyBytes"] }, dest);
  const registry = loadRegistry(config.registry);
  // what a person must fix before any device can report; the readable output (cli/output) shows these
  if (!fs.existsSync(config.registry)) logger.warn(`registry ${config.registry} does not exist (key "registry" in ${config.source}): no device is provisioned, so every device will be rejected; provision devices into it (varde provision --registry ${config.registry}) or fix the path`);
  else if (registry.devices.length === 0) logger.warn(`registry ${config.registry} lists no devices: every device will be rejected; provision devices into it (varde provision --registry ${config.registry})`);
  if (config.transports.length === 0) logger.warn(`${config.source} has no [[transport]]: no device link is opened (devices reach this gateway only through links added by code); add a [[transport]] table, see examples/gateway.toml`);
  fs.mkdirSync(config.dataDir, { recursive: true });
  const unlock = lockDataDir(config.dataDir);
  const metrics = new Metrics();
  let core: Gateway | null = null;
  let backend: Backend | null = null;
  let outbox: Store;
  try {
    outbox = new Store(path.join(config.dataDir, "outbox.db"), {
      maxBytes: config.outbox.maxBytes,
      minFreeBytes: config.outbox.minFreeBytes,
      now: () => clock.now(),
      onFull: (full) => {
        metrics.set("varde_outbox_full", full ? 1 : 0);
        logger[full ? "error" : "info"](full ? `outbox is full ([outbox] max_bytes = ${config.outbox.maxBytes}, or less than min_free_bytes = ${config.outbox.minFreeBytes} free on the disk of ${config.dataDir}): oldest telemetry dropped; new alarms stay unacked in the devices until the backend drains the outbox or space is freed` : "outbox has room again");
        core?.emit({ kind: full ? "outbox-full" : "outbox-ok", text: full ? "FAULT: gateway outbox full" : "gateway outbox has room again" });
        backend?.rebirth();
      },
      onDropped: (e) => {
        metrics.inc("varde_events_dropped_total");
        logger.warn({ eventId: e.eventId, type: e.type }, "outbox full: oldest telemetry dropped");
      },
      onFault: (f) => {
        metrics.set("varde_storage_fault", f ? 1 : 0);
        if (f) logger.error({ code: f.code, err: f.message }, `FAULT: the data directory ${config.dataDir} refuses writes (${f.code}: ${f.message}); device frames are not acknowledged (the devices keep their events) until it takes writes again — free space or make it writable; retrying every second`);
        else logger.info(`the data directory ${config.dataDir} takes writes again; device frames are acknowledged again`);
        core?.emit({ kind: f ? "storage-fault" : "storage-ok", text: f ? `FAULT: cannot write to ${config.dataDir} (${f.code}); device events stay in the devices` : `${config.dataDir} writable again` });
        backend?.rebirth();
      },
    });
  } catch (e) {
    unlock();
    throw e;
  }
  if (outbox.damage) {
    const d = outbox.damage;
    const rows = Object.entries(d.salvage.rows).map(([t, n]) => `${n} ${t}`).join(", ") || "nothing";
    const lost = Object.entries(d.salvage.unreadable).map(([t, why]) => `${t}: ${why}`).join("; ");
    metrics.set("varde_outbox_salvaged_events", d.salvage.rows.events ?? 0);
    logger.error({ damage: d }, `${path.join(config.dataDir, "outbox.db")} was damaged (${d.reason}); it is kept as ${d.movedTo} and the gateway continues with what could be read: ${rows}${lost ? `; unreadable: ${lost}` : ""}`);
  }
  core = new Gateway(config, registry, outbox, metrics, logger, clock);
  if (opts.onBus) core.bus.on("event", opts.onBus);
  let broker: EmbeddedBroker | null = null;
  const transports: Transport[] = [];
  const listenPorts: number[] = [];
  let unwatch = () => {};
  try {
    let url = config.mqtt.url;
    if (!url) {
      const { startEmbeddedBroker } = await import("./mqtt/embedded.ts");
      broker = await startEmbeddedBroker(config.mqtt.embeddedHost, config.mqtt.embeddedPort);
      url = broker.url;
      config.mqtt.protocolVersion = 4; // aedes speaks MQTT 3.1.1
      logger.info(`no [mqtt] url configured: embedded broker listening at ${url}`);
    }
    backend = new Backend(config, url, core, outbox, metrics, logger);
    core.backend = backend;
    metrics.beforeScrape = () => {
      metrics.set("varde_outbox_depth", outbox.depth());
      metrics.set("varde_outbox_bytes", outbox.sizeBytes());
      metrics.set("varde_devices_online", core!.devices.onlineCount()); // the device table is the one source
    };
    const metricsUrl = await metrics.serve(config.metrics.host, config.metrics.port, () => ({ gateway: config.gatewayId, broker: url, mqttConnected: backend!.connected, bdSeq: backend!.bdSeq, ...core!.status() }));
    core.start();
    backend.start();
    // `varde provision` appends to the registry while the gateway runs: pick new devices up without a restart
    const onRegistryChange = () => {
      try {
        core!.setRegistry(loadRegistry(config.registry));
      } catch (e) {
        logger.error(`${(e as Error).message} — keeping the previous registry until the file is fixed`);
      }
    };
    fs.watchFile(config.registry, { interval: 1000 }, onRegistryChange);
    unwatch = () => fs.unwatchFile(config.registry, onRegistryChange);
    const log = (m: string) => logger.warn(m);
    for (const t of config.transports) {
      const tr = await makeTransport(t, config, log);
      await tr.start((l) => core!.addLink(l));
      transports.push(tr);
      if (tr instanceof TcpListenTransport) listenPorts.push(tr.port);
    }
    logger.info({ broker: url, metrics: metricsUrl, devices: registry.devices.length, outboxDepth: outbox.depth() }, "gateway started");
    let stopped = false;
    return {
      config,
      brokerUrl: url,
      metricsUrl,
      bus: core.bus,
      core,
      outbox,
      metrics,
      transports,
      listenPorts,
      addLink: (l) => core!.addLink(l),
      addTransport: async (t) => {
        await t.start((l) => core!.addLink(l));
        transports.push(t);
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        unwatch();
        for (const t of transports) await t.stop();
        core!.stop();
        await backend!.stop();
        await metrics.close();
        outbox.close();
        if (broker) await broker.close();
        unlock();
        logger.info("gateway stopped");
        logger.flush?.();
      },
    };
  } catch (e) {
    unwatch();
    for (const t of transports) await t.stop().catch(() => undefined);
    core.stop();
    await backend?.stop().catch(() => undefined);
    await metrics.close();
    outbox.close();
    if (broker) await broker.close();
    unlock();
    throw e;
  }
}
