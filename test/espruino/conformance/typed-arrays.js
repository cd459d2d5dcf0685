// Typed arrays: what the firmware's codec, framing and MAC rely on.

//# slice returns a plain Array
var a = new Uint8Array([1, 2, 3]);
var s = a.slice(1);
show(Array.isArray(s), s instanceof Uint8Array, s);

//# slice of a slice has no subarray
var b = new Uint8Array([1, 2, 3, 4]).slice(1, 3);
show(typeof b.subarray);
b.subarray(0, 1);

//# slice with negative and missing arguments
var c = new Uint8Array([1, 2, 3, 4]);
show(c.slice(-2), c.slice(), c.slice(1, -1), c.slice(3, 1));

//# slice of other typed arrays
show(new Uint16Array([1000, 2]).slice(0, 1), new Int8Array([-1, 5]).slice(0), new Float32Array([1.5]).slice(0));

//# subarray is a view on the same buffer
var d = new Uint8Array([1, 2, 3, 4]);
var v = d.subarray(1, 3);
v[0] = 7;
show(d, v, v.length, v.byteOffset, v.byteLength, v.buffer.byteLength, v instanceof Uint8Array);

//# subarray with negative and missing end
// (subarray(0, 10) of 4 elements: Espruino returns a 10-element view reaching past the buffer, reading 0;
// V8 cannot make one, so the simulator throws an Error saying so instead of clamping silently)
var e = new Uint8Array([1, 2, 3, 4]);
show(e.subarray(-2), e.subarray(1), e.subarray(2, 1), e.subarray(0, 4));

//# copy through new Uint8Array(subarray)
var f = new Uint8Array([1, 2, 3]);
var g = new Uint8Array(f.subarray(1));
g[0] = 9;
show(f, g);

//# set from an array and from a typed array, with offset
var h = new Uint8Array(6);
h.set([1, 2], 1);
h.set(new Uint8Array([9, 8]), 4);
show(h);

//# set out of range
var h2 = new Uint8Array(2);
h2.set([1, 2, 3]);

//# fill with and without a range
show(new Uint8Array(4).fill(3), new Uint8Array(5).fill(7, 1, 3), new Uint8Array(4).fill(1, -2));

//# map keeps the type, filter does not
var m = new Uint8Array([1, 2, 3]).map(function (x) { return x * 200; });
var fl = new Uint8Array([1, 2, 3]).filter(function (x) { return x > 1; });
show(m instanceof Uint8Array, m, Array.isArray(fl), fl instanceof Uint8Array, fl);

//# forEach indexOf join reverse includes
var k = new Uint8Array([5, 6, 7]);
var sum = 0;
k.forEach(function (x, i) { sum += x * i; });
show(sum, k.indexOf(6), k.indexOf(9), k.join("-"), k.join(), k.reverse(), typeof k.includes);

//# find findIndex some every reduce
var q = new Uint8Array([4, 5, 6]);
show(q.find(function (x) { return x > 4; }), q.findIndex(function (x) { return x > 4; }), typeof q.some, typeof q.every, q.reduce(function (a, x) { return a + x; }, 0));

//# sort
show(new Uint8Array([3, 1, 2]).sort(), new Int8Array([3, -1, 2]).sort());

//# element writes wrap or clamp
var w = new Uint8Array(1); w[0] = 300;
var w2 = new Int8Array(1); w2[0] = 200;
var w3 = new Uint16Array(1); w3[0] = 70000;
var w4 = new Uint8ClampedArray(2); w4[0] = 300; w4[1] = -5;
var w5 = new Uint8Array(1); w5[0] = -1;
var w6 = new Uint8Array(1); w6[0] = 1.7;
var w7 = new Int32Array(1); w7[0] = 4294967295;
show(w[0], w2[0], w3[0], w4[0], w4[1], w5[0], w6[0], w7[0]);

//# reading and writing outside the array
var o = new Uint8Array(2);
o[5] = 1;
show(o[5], o[-1], o.length, o);

//# constructed from an ArrayBuffer with offset and length
var buf = new ArrayBuffer(6);
var u = new Uint8Array(buf, 2, 3);
u[0] = 1;
show(new Uint8Array(buf), u.length, u.byteOffset, new Uint16Array(buf).length);

//# constructed from an array of numbers and strings
show(new Uint8Array([1, "2", 3.9, -1, 256]), new Uint8Array(3), new Uint8Array(0).length);

//# length and byteLength of wider types
var wide = new Uint32Array(3);
show(wide.length, wide.byteLength, new Float64Array(2).byteLength, Uint8Array.BYTES_PER_ELEMENT, Uint32Array.BYTES_PER_ELEMENT);

//# as a string
show(String(new Uint8Array([1, 2])), new Uint8Array([3]) + "", "" + new Uint8Array(0));

//# Array.isArray and typeof
show(Array.isArray(new Uint8Array(1)), typeof new Uint8Array(1));

//# concat a typed array onto an Array
show([0].concat(new Uint8Array([1, 2])).length);

//# Uint8Array of a string
show(new Uint8Array("abc"));

//# ArrayBuffer
var ab = new ArrayBuffer(3);
show(ab.byteLength, typeof ab.slice, new Uint8Array(ab));

//# for of over a typed array
var sum2 = 0;
for (var x of new Uint8Array([1, 2, 3])) sum2 += x;
show(sum2);

//# E.toUint8Array and E.toString
show(E.toUint8Array("AB"), E.toUint8Array([1, 2], "ab", 3), E.toUint8Array({ data: 7, count: 2 }), E.toUint8Array(new Uint8Array([4, 5])));
show(E.toString([65, 66]), E.toString(new Uint8Array([67, 0, 255])), E.toString("x", [65]), E.toString(65));

//# E.toArrayBuffer
var eb = E.toArrayBuffer("AB");
show(eb instanceof ArrayBuffer, new Uint8Array(eb));

//# JSON of a typed array
show(JSON.stringify(new Uint8Array([1, 2])), JSON.stringify({ b: new Uint8Array([3]) }));
