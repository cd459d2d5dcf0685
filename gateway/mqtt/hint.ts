// What a person should read when the broker connection fails: the cause in words, then what to check,
// naming the gateway.toml key. Raw OpenSSL text ("802C…:error:0A000418:SSL routines:…") is kept only in
// the structured log field, never as the message.
//
// Two failures look alike on the wire (the broker just closes: ECONNRESET): mqtt:// against a TLS
// listener and mqtts:// against a plain one. diagnoseReset() settles it by asking the port itself —
// a TLS handshake for mqtt://, a bare MQTT CONNECT for mqtts:// — so the message can say which it is.
import * as net from "node:net";
import type * as Tls from "node:tls";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export interface Explained {
  /** the cause, in words */
  reason: string;
  /** what to check / change, naming the config key; "" when nothing specific applies */
  hint: string;
}

const TLS_ALERT: Record<string, string> = {
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "the broker does not trust our client certificate ([mqtt] cert): it is not signed by a CA in the broker's cafile",
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: "the broker requires a client certificate and none was sent",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "the broker rejected our client certificate ([mqtt] cert)",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: "the broker says our client certificate ([mqtt] cert) has expired",
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: "the broker could not verify our client certificate's signature ([mqtt] cert and [mqtt] key do not belong together?)",
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: "the TLS handshake failed (no TLS version or cipher both sides accept)",
  ERR_SSL_WRONG_VERSION_NUMBER: "the port did not answer with TLS",
};

const SERVER_CERT = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT", "CERT_UNTRUSTED", "CERT_SIGNATURE_FAILURE",
]);

/** The cause and what to check, for an error of the MQTT client (or a CONNACK refusal). */
export function explain(e: Error & { code?: string | number }): Explained {
  const code = e.code === undefined ? "" : String(e.code);
  const msg = e.message;
  const alert = TLS_ALERT[code];
  if (alert) {
    const fix =
      code === "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED" ? "set [mqtt] cert and [mqtt] key to a client certificate signed by the broker's CA" :
      code === "ERR_SSL_WRONG_VERSION_NUMBER" ? "the port may be a plain MQTT listener: use mqtt:// in [mqtt] url, or the broker's TLS port" :
      code === "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE" ? "check the broker's tls_version/ciphers and that [mqtt] key matches [mqtt] cert" :
      "use a client certificate ([mqtt] cert, [mqtt] key) issued by the CA the broker trusts (its cafile)";
    return { reason: `TLS: ${alert}`, hint: fix };
  }
  if (SERVER_CERT.has(code)) return { reason: `TLS: the broker's certificate is not trusted (${msg})`, hint: "set [mqtt] ca to the CA that signed the broker's certificate" };
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") return { reason: `TLS: the broker's certificate is not valid now (${msg})`, hint: "renew the broker's certificate, or check this machine's clock" };
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || /altnames/.test(msg)) return { reason: `TLS: the broker's certificate is not for this host name (${msg})`, hint: "use the host name the certificate names in [mqtt] url" };
  if (/certificate|self[- ]signed|CERT_|unable to verify/i.test(msg)) return { reason: `TLS: ${msg}`, hint: "check [mqtt] ca (the CA that signed the broker's certificate) and [mqtt] cert/key" };
  if (code === "ECONNREFUSED") return { reason: `nothing listens there (${msg})`, hint: "is the broker running, and are the host and port in [mqtt] url right? Events wait in the outbox meanwhile" };
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return { reason: `the broker's host name does not resolve (${msg})`, hint: "check the host in [mqtt] url and this machine's DNS" };
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "ETIMEDOUT") return { reason: `the broker cannot be reached (${msg})`, hint: "check the network and the host in [mqtt] url" };
  // CONNACK refusals: MQTT 3.1.1 return codes 1..5, MQTT 5 reason codes 0x80..
  if (code === "4" || code === "134" || /Bad User Name or Password/i.test(msg)) return { reason: `the broker refused the login: bad user name or password (${msg})`, hint: "check [mqtt] username and [mqtt] password against the broker's password file" };
  if (code === "5" || code === "135" || /Not authorized/i.test(msg)) return { reason: `the broker refused the connection: not authorized (${msg})`, hint: "check [mqtt] username/password (and the broker's password file and ACL for this user); with client certificates as identity, check [mqtt] cert" };
  if (code === "2" || code === "133" || /Identifier rejected/i.test(msg)) return { reason: `the broker rejected the client id (${msg})`, hint: "set a client id the broker accepts in [mqtt] client_id" };
  if (code === "1" || code === "132" || /unacceptable protocol version|Unsupported Protocol Version/i.test(msg)) return { reason: `the broker does not speak this MQTT version (${msg})`, hint: "set [mqtt] protocol_version = 4 (MQTT 3.1.1) or 5 to what the broker supports" };
  if (code === "3" || code === "136" || /Server unavailable/i.test(msg)) return { reason: `the broker says it is unavailable (${msg})`, hint: "the broker is starting or overloaded; the gateway keeps retrying" };
  if (code === "ECONNRESET" || code === "EPIPE") return { reason: `the broker closed the connection before answering CONNECT (${msg})`, hint: "if this port is a TLS listener use mqtts:// (and [mqtt] ca); if it is plain, use mqtt://" };
  return { reason: msg, hint: "" };
}

/** One line: "<reason> — <hint>". */
export function describeError(e: Error & { code?: string | number }): string {
  const x = explain(e);
  return x.hint ? `${x.reason} — ${x.hint}` : x.reason;
}

/**
 * For a connection the broker reset before CONNACK: does the port speak TLS or plain MQTT? Resolves
 * with a sharper explanation, or null when the probe says nothing useful (2 s at most).
 */
export async function diagnoseReset(url: string): Promise<Explained | null> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const host = u.hostname;
  const secure = u.protocol === "mqtts:" || u.protocol === "ssl:" || u.protocol === "tls:";
  const port = Number(u.port || (secure ? 8883 : 1883));
  if (!secure) {
    const speaksTls = await new Promise<boolean>((resolve) => {
      const s = (require("node:tls") as typeof Tls).connect({ host, port, rejectUnauthorized: false, servername: net.isIP(host) ? undefined : host });
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(2000, () => done(false));
      s.once("secureConnect", () => done(true));
      // an alert from the server (e.g. "certificate required") is TLS speaking too
      s.once("error", (e: Error & { code?: string }) => done(/^ERR_SSL_(TLSV1|TLSV13|SSLV3)_ALERT/.test(e.code ?? "")));
    });
    return speaksTls ? { reason: `port ${port} of ${host} is a TLS listener and [mqtt] url says mqtt:// (plain)`, hint: `use mqtts://${host}:${port} in [mqtt] url, with [mqtt] ca (and cert/key if the broker wants client certificates)` } : null;
  }
  const speaksPlain = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host, port });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done(false));
    s.once("error", () => done(false));
    s.once("connect", () => s.write(Buffer.from([0x10, 0x0e, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x05, 0x00, 0x02, 0x76, 0x64]))); // CONNECT "vd", MQTT 3.1.1
    s.once("data", (b: Buffer) => done(b[0] === 0x20)); // CONNACK
  });
  return speaksPlain ? { reason: `port ${port} of ${host} is a plain MQTT listener and [mqtt] url says mqtts:// (TLS)`, hint: `use mqtt://${host}:${port}, or the broker's TLS port` } : null;
}
