// StorageFile (require("Storage").open): the append-only logs of the outbox.

//# opening a missing file for reading
var f = require("Storage").open("sf-none", "r");
show(typeof f, f.readLine(), f.read(5), f.getLength());

//# append lines and read them back
var S = require("Storage");
var w = S.open("sf-log", "a");
w.write("line1\n");
w.write("line2\n");
show(w.getLength());
var r = S.open("sf-log", "r");
show(r.readLine(), r.readLine(), r.readLine());
var r2 = S.open("sf-log", "r");
show(r2.read(3), r2.read(100), r2.read(1));

//# a StorageFile in list
var S = require("Storage");
show(S.list(/^sf-log/), S.list(/^sf-log/, { sf: true }), S.list(/^sf-log/, { sf: false }));

//# mode w starts again, mode a appends
var S = require("Storage");
S.open("sf-log", "a").write("line3\n");
show(S.open("sf-log", "r").getLength());
S.open("sf-log", "w").write("fresh\n");
show(S.open("sf-log", "r").readLine(), S.open("sf-log", "r").getLength());

//# a 0xFF byte ends the text
var S = require("Storage");
var x = S.open("sf-ff", "w");
x.write("a\xffb\n");
var xr = S.open("sf-ff", "r");
show(xr.readLine(), xr.readLine(), S.open("sf-ff", "r").getLength());

//# appending after a 0xFF
var S = require("Storage");
S.open("sf-ff", "a").write("c\n");
show(S.open("sf-ff", "r").read(20));

//# bad modes
var S = require("Storage");
err(function () { S.open("sf-log", "x"); });
err(function () { S.open("sf-log", "a").read(1); });
err(function () { S.open("sf-log", "r").write("x"); });

//# erase
var S = require("Storage");
S.open("sf-log", "r").erase();
show(S.list(/^sf-log/), S.open("sf-log", "r").readLine());

//# lines across the chunk boundary
var S = require("Storage");
var lf = S.open("sf-big", "w");
var line = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\n";
for (var i = 0; i < 45; i++) lf.write(line);
show(S.list(/^sf-big/).length, S.open("sf-big", "r").getLength());
var br = S.open("sf-big", "r");
var count = 0, ok = true, l = br.readLine();
while (l !== undefined) { if (l !== line) ok = false; count++; l = br.readLine(); }
show(count, ok);
S.open("sf-big", "r").erase();

//# writing non-strings
var S = require("Storage");
var nw = S.open("sf-num", "w");
nw.write(123);
nw.write([65, 66]);
show(S.open("sf-num", "r").read(20));
S.open("sf-num", "r").erase();

//# empty writes
var S = require("Storage");
var ew = S.open("sf-empty", "w");
ew.write("");
show(S.list(/^sf-empty/), S.open("sf-empty", "r").getLength());

//# a long StorageFile name
var S = require("Storage");
var ln = S.open("abcdefghijklmnopqrstuvwxyz01", "w");
ln.write("x\n");
show(S.list(/^abcdefghij/).length, S.open("abcdefghijklmnopqrstuvwxyz01", "r").readLine());
S.list().forEach(function (n) { if (n !== ".bootcde") S.erase(n); });
