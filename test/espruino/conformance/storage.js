// require("Storage") on a 256 KiB flash holding only the suite itself (.bootcde: the program runs from
// flash on both sides, so it is never erased here; the simulated device gets a flash of the same size).

//# an empty flash
var S = require("Storage");
show(S.list(), S.getFree(), S.getStats());

//# write and read
var S = require("Storage");
show(S.write("st-a", "hello"), S.read("st-a"), S.read("st-a", 1, 2), S.read("st-a", 3), S.read("st-missing"));

//# write with offset and total size
var S = require("Storage");
show(S.write("st-b", "ab", 0, 6), S.read("st-b"));
show(S.write("st-b", "cd", 2), S.read("st-b"));
err(function () { S.write("st-b", "xyz", 5); });
err(function () { S.write("st-new", "xyz", 5); });

//# programming written bytes again ANDs the bits
var S = require("Storage");
S.write("st-and", "\xff\xff", 0, 2);
S.write("st-and", "\x0f", 0);
S.write("st-and", "\xf3", 0);
show(E.toUint8Array(S.read("st-and")));

//# rewriting identical content leaves flash alone
var S = require("Storage");
S.write("st-same", "same");
var f0 = S.getFree();
S.write("st-same", "same");
show(f0 - S.getFree());
S.write("st-same", "diff");
show(f0 - S.getFree());

//# zero-length files cannot be created
var S = require("Storage");
err(function () { S.write("st-empty", ""); });
show(S.read("st-empty"));

//# objects arrays and typed arrays as data
var S = require("Storage");
S.write("st-obj", { a: 1, s: "x" });
S.write("st-arr", [65, 66]);
S.write("st-u8", new Uint8Array([1, 255]));
show(S.read("st-obj"), S.read("st-arr"), E.toUint8Array(S.read("st-u8")));

//# readArrayBuffer
var S = require("Storage");
var b = S.readArrayBuffer("st-u8");
show(b instanceof ArrayBuffer, b.byteLength, new Uint8Array(b), S.readArrayBuffer("st-missing"));

//# writeJSON writes unquoted keys since 2v20
var S = require("Storage");
S.writeJSON("st-j", { id: 1042, key: "abc", a: [1, "x"], "b-c": 2, n: null, t: true, "1x": 1, _u: 2, $d: 3 });
show(S.read("st-j"));

//# readJSON reads it back, JSON.parse does not
var S = require("Storage");
show(S.readJSON("st-j"));
JSON.parse(S.read("st-j"));

//# readJSON of missing and invalid files
var S = require("Storage");
S.write("st-bad", "{x");
show(S.readJSON("st-missing"), S.readJSON("st-bad", true));
S.readJSON("st-bad");

//# writeJSON of strings numbers and nested values
var S = require("Storage");
S.writeJSON("st-j2", "text");
S.writeJSON("st-j3", [1, { b: [2, { c: "\xff" }] }]);
show(S.read("st-j2"), S.read("st-j3"), S.readJSON("st-j3"));

//# list with and without a filter
var S = require("Storage");
show(S.list(/^st-[ab]/), S.list("st-s"), S.list().length);

//# erase and the free space it does not give back until compact
var S = require("Storage");
var before = S.getStats();
S.erase("st-a");
S.erase("st-nothing");
var after = S.getStats();
show(S.read("st-a"), after.fileCount - before.fileCount, after.trashCount - before.trashCount, S.getFree() === after.freeBytes);

//# compact
var S = require("Storage");
S.compact();
var st = S.getStats();
show(st.trashBytes, st.trashCount);

//# file names longer than 28 characters are cut to 28
var S = require("Storage");
S.write("abcdefghijklmnopqrstuvwxyz0123456789", "x");
show(S.list(/^abcdef/), S.read("abcdefghijklmnopqrstuvwxyz01"));
S.erase("abcdefghijklmnopqrstuvwxyz01");

//# hash is a number
var S = require("Storage");
show(typeof S.hash(/st-/));

//# a full flash refuses a write and keeps the old file
var S = require("Storage");
S.list().forEach(function (n) { if (n !== ".bootcde") S.erase(n); });
var big = "";
for (var i = 0; i < 1024; i++) big += "\x55";
var n = 0, msg = "";
try {
  for (n = 0; n < 1000; n++) S.write("full" + n, big, 0, 16384);
} catch (e) { msg = e.message; }
show(n, msg, S.getFree(), S.getStats().fileCount);
S.write("keep", "old");
try { S.write("keep", big + big + big + big, 0, 20000); show("written"); } catch (e) { show(e.message); }
show(S.read("keep"));

//# after erasing a full flash writes fit again
var S = require("Storage");
for (var i = 0; i < 5; i++) S.erase("full" + i);
var st2 = S.getStats();
show(st2.trashCount);
S.write("after", "x", 0, 20000);
show(S.getStats().trashCount, S.read("after", 0, 1));
S.list().forEach(function (n) { if (n !== ".bootcde") S.erase(n); });
show(S.list(), S.getFree());
