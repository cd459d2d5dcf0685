// Strings are 8-bit on the boards: one byte per character.

//# fromCharCode keeps the low 8 bits
show(String.fromCharCode(0x2265).charCodeAt(0), String.fromCharCode(0x141).length, String.fromCharCode(65, 66, 0x100 + 67), String.fromCharCode(256).charCodeAt(0));

//# a \u escape becomes one byte
var s = "\u2265";
show(s.length, s.charCodeAt(0), "\u00e6".charCodeAt(0), "\u0141".charCodeAt(0));

//# UTF-8 text in the source is bytes
var u = "æ≥";
show(u.length, u.charCodeAt(0), u.charCodeAt(1), u.charCodeAt(4));

//# E.toUint8Array of text
show(E.toUint8Array("æ"), E.toUint8Array("\u00e6"));

//# charCodeAt and charAt outside the string
show("ab".charCodeAt(5), "ab".charAt(5), "ab"[5], "ab".charCodeAt(-1));

//# case conversion is ASCII only
show("abcæ".toUpperCase(), "\u00c6".toLowerCase(), "ÀB".toLowerCase());

//# reading a missing member dynamically throws
var k = "foo";
"abc"[k];

//# reading a missing member statically does not
show("abc".foo);

//# reading a numeric index dynamically is fine
var i = "1";
show("abc"[i], "abc"[1]);

//# dynamic read of a missing member on a typed array throws
var k2 = "foo";
new Uint8Array(2)[k2];

//# writing a new member on a typed array throws
var t = new Uint8Array(2);
t.foo = 1;

//# negative index on a typed array throws
var t2 = new Uint8Array(2);
t2[-1];

//# string methods the firmware uses
show("ab".padStart(4, "0"), "ab".padEnd(4), "ab".repeat(3), "abc".startsWith("ab"), "abc".endsWith("bc"), "abc".includes("d"), "a.b.a".replaceAll("a", "x"), "a,b,,c".split(","), "abc".substr(1, 1), "abc".substring(2, 0), " x ".trim(), "abcb".indexOf("b", 2), "abcb".lastIndexOf("b"), "abc".slice(-2));

//# split with a limit and a regex
show("a1b2c".split(/\d/), "abc".split(""), "a,b,c".split(",", 2), "".split(","));

//# replace with a function and with a regex
show("a-b-c".replace("-", "+"), "a-b-c".replace(/-/g, "+"), "abc".replace(/b/, function (m) { return m.toUpperCase(); }));

//# regular expressions
var re = /(\d+)-(\d+)/;
var m = re.exec("x 12-34 y");
show(m[0], m[1], m[2], m.index, re.test("nope"), "AbC".match(/b/i)[0]);

//# comparison of 8-bit strings
show("\xff" > "a", "b" > "a", "a" < "ab", "\x80" === String.fromCharCode(128));

//# concatenation of numbers into strings
show("n" + 5, 5 + "n", "x" + true + null + undefined);

//# string of bytes round trip through E.toString
var b = new Uint8Array([0, 127, 128, 255]);
var st = E.toString(b);
show(st.length, st.charCodeAt(3), E.toUint8Array(st));

//# btoa atob
show(btoa("\x00\xff"), atob("AP8=").charCodeAt(1));
