import { describe, it, expect } from "vitest";
import { explain } from "./hint.ts";

const err = (message: string, code?: string | number) => Object.assign(new Error(message), code === undefined ? {} : { code });

describe("MQTT connection errors tell a person what to check, in words", () => {
  it("names the config key that fixes each cause; raw OpenSSL text is not the message", () => {
    expect(explain(err("connect ECONNREFUSED 127.0.0.1:1883", "ECONNREFUSED")).hint).toMatch(/\[mqtt\] url/);
    expect(explain(err("self-signed certificate in certificate chain", "SELF_SIGNED_CERT_IN_CHAIN")).hint).toMatch(/\[mqtt\] ca/);
    expect(explain(err("Hostname/IP does not match certificate's altnames", "ERR_TLS_CERT_ALTNAME_INVALID")).hint).toMatch(/host name/);
    expect(explain(err("Connection refused: Bad User Name or Password", 134)).hint).toMatch(/username.*password/);
    const na = explain(err("Connection refused: Not authorized", 5));
    expect(na.reason).toMatch(/not authorized/);
    expect(na.hint).toMatch(/username\/password/);
    // a client certificate from a CA the broker does not trust: the cert is named, not [mqtt] ca
    const rogue = explain(err("802C076EE47F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 48", "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA"));
    expect(rogue.reason).toMatch(/does not trust our client certificate \(\[mqtt\] cert\)/);
    expect(rogue.reason + rogue.hint).not.toMatch(/SSL routines|0A000418/);
    expect(explain(err("…tlsv13 alert certificate required…", "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED")).hint).toMatch(/set \[mqtt\] cert and \[mqtt\] key/);
    expect(explain(err("read ECONNRESET", "ECONNRESET")).hint).toMatch(/mqtts:\/\//);
    expect(explain(err("something else")).hint).toBe("");
  });
});
