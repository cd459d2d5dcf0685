// require("crypto"): the MAC is HMAC-SHA256 built on SHA256.

//# SHA256 of a string an array and a typed array
var C = require("crypto");
var a = C.SHA256("abc"), b = C.SHA256([97, 98, 99]), c = C.SHA256(new Uint8Array([97, 98, 99]));
show(a instanceof ArrayBuffer, a.byteLength, new Uint8Array(a), new Uint8Array(b)[31], new Uint8Array(c)[0]);

//# SHA256 of an empty string and of a subarray
var C = require("crypto");
var d = new Uint8Array([0, 97, 98, 99, 0]).subarray(1, 4);
show(new Uint8Array(C.SHA256(""))[0], new Uint8Array(C.SHA256(d))[0], new Uint8Array(C.SHA256(d.buffer))[0]);

//# SHA256 of 8-bit strings
var C = require("crypto");
show(new Uint8Array(C.SHA256("\xff\x00\x80")));

//# SHA256 of a long input
var C = require("crypto");
var s = "";
for (var i = 0; i < 300; i++) s += String.fromCharCode(i & 255);
show(new Uint8Array(C.SHA256(s)));

//# HMAC-SHA256 built from SHA256 (RFC 4231 case 2)
var C = require("crypto");
function hmac(key, msg) {
  var k = new Uint8Array(64);
  k.set(E.toUint8Array(key));
  var ip = new Uint8Array(64 + msg.length), op = new Uint8Array(96);
  for (var i = 0; i < 64; i++) { ip[i] = k[i] ^ 0x36; op[i] = k[i] ^ 0x5c; }
  ip.set(E.toUint8Array(msg), 64);
  op.set(new Uint8Array(C.SHA256(ip)), 64);
  return new Uint8Array(C.SHA256(op));
}
show(hmac("Jefe", "what do ya want for nothing?"));

//# which hashes exist
var C = require("crypto");
show(typeof C.SHA1, typeof C.SHA224, typeof C.SHA256, typeof C.SHA384, typeof C.SHA512, typeof C.AES, typeof C.PBKDF2);

//# SHA1
var C = require("crypto");
show(new Uint8Array(C.SHA1("abc")));

//# AES ECB and CBC (FIPS-197 vector)
// (Puck.js has the AES library, ESP32 has not: there every AES call throws)
var C = require("crypto");
var key = new Uint8Array(16), pt = new Uint8Array(32);
for (var i = 0; i < 16; i++) { key[i] = i; pt[i] = i * 17; pt[i + 16] = i; }
var ecb = new Uint8Array(C.AES.encrypt(pt, key, { mode: "ECB" }));
var cbc = new Uint8Array(C.AES.encrypt(pt, key));
var cbcIv = new Uint8Array(C.AES.encrypt(pt, key, { iv: pt.subarray(16), mode: "CBC" }));
show(ecb, cbc, cbcIv);
show(new Uint8Array(C.AES.decrypt(cbc, key)), new Uint8Array(C.AES.decrypt(ecb, key, { mode: "ECB" })));

//# AES with a partial block
var C = require("crypto");
var key2 = new Uint8Array(16);
show(new Uint8Array(C.AES.encrypt(new Uint8Array(20), key2, { mode: "ECB" })));
