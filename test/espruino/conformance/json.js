// JSON as Espruino does it: the identity file, the state files and the outbox go through it.

//# stringify undefined and functions
show(JSON.stringify(undefined), JSON.stringify([undefined, function () {}]), JSON.stringify({ a: undefined, b: function () {}, c: 1 }), JSON.stringify(function () {}));

//# stringify primitives
show(JSON.stringify(null), JSON.stringify(true), JSON.stringify("x"), JSON.stringify(0), JSON.stringify(-5), JSON.stringify([1, "a", null, false]));

//# stringify escapes
show(JSON.stringify("a\u00ff\u0001\n\t\r\b\f\"\\/"), JSON.stringify("\x7f\x80"), JSON.stringify("\u2265"));

//# stringify non-finite numbers
show(JSON.stringify(NaN), JSON.stringify([Infinity, -Infinity]), JSON.stringify({ n: NaN }));

//# stringify key order
// Only non-numeric keys: Espruino keeps every key in insertion order ({1:1,b:2,0:0} stays so), V8 puts
// integer-like keys first and the simulator cannot change V8's property order. Firmware must not depend
// on the order of integer-like keys.
show(JSON.stringify({ b: 2, a: 3, c: 0 }), JSON.stringify({ z: 1, y: { x: 2, w: 3 } }));

//# stringify a holey array
var h = [];
h[2] = 1;
show(JSON.stringify(h));

//# stringify with indent
show(JSON.stringify({ a: 1, b: [1, 2], c: { d: "x" } }, null, 2));
show(JSON.stringify([1, 2], null, " "));

//# stringify with a whitelist
show(JSON.stringify({ a: 1, b: 2 }, ["a"]));

//# stringify a Date and toJSON
show(JSON.stringify(new Date(0)), JSON.stringify({ toJSON: function () { return 5; } }));

//# stringify nested objects and empties
show(JSON.stringify({ a: {}, b: [], c: [{}] }));

//# parse standard JSON
show(JSON.parse('{"a":{"b":[true,false,null]},"n":-0.5,"e":1e3}'), JSON.parse(" [1 , 2] "), JSON.parse('"x"'));

//# parse unicode escapes become bytes
var u = JSON.parse('"\\u0041\\u00ff\\u0100"');
show(u.length, u.charCodeAt(0), u.charCodeAt(1), u.charCodeAt(2));

//# parse rejects unquoted keys
JSON.parse("{id:1}");

//# parse error class
err(function () { JSON.parse("{a:1}"); });

//# parse accepts single quotes
show(JSON.parse("{'id':1}"), JSON.parse("'abc'"));

//# parse accepts trailing commas
show(JSON.parse("[1,2,]"), JSON.parse('{"a":1,}'));

//# parse rejects an empty string
JSON.parse("");

//# parse rejects NaN and undefined
var bad = ["NaN", "undefined", "[1,2", '{"a"'];
for (var i = 0; i < bad.length; i++) {
  try { JSON.parse(bad[i]); show(bad[i], "parsed"); } catch (e) { show(bad[i], "throws"); }
}

//# parse ignores what follows a value
show(JSON.parse('{"a":1} x'));

//# parse of hex
show(JSON.parse("0x10"));

//# parse with a reviver argument
show(JSON.parse('{"a":1}', function (k, v) { return v; }));

//# writeJSON output is not JSON.parse-able but readJSON reads it
var S = require("Storage");
S.writeJSON("json-id", { id: 1042, key: "abc", list: [1, "x"], "b-c": 2, n: null, t: true, nested: { k: 1 } });
show(S.read("json-id"));
show(S.readJSON("json-id"));
try { JSON.parse(S.read("json-id")); show("parsed"); } catch (e) { show("JSON.parse throws"); }
S.erase("json-id");

//# round trip of 8-bit strings
var s = "";
for (var c = 0; c < 256; c += 17) s += String.fromCharCode(c);
var back = JSON.parse(JSON.stringify(s));
show(back === s, back.length);
