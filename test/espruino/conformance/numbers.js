// Number conversions. Integers print alike; floats are printed by Espruino with up to 11 fractional
// digits (ftoa), which the simulator reproduces for explicit conversions (String(), toString(),
// toFixed(), JSON.stringify, print). Implicit conversion ("" + x, template literals) in the simulator
// is V8's: see simulator/espruino/numbers.ts.

//# integers
show(String(0), String(-7), String(2147483647), String(2147483648), String(-2147483649), String(4294967295), String(1e15), String(1e20));

//# floats through String()
show(String(0.1 + 0.2), String(1 / 3), String(123456789.123), String(1e21), String(1e-7), String(-0), String(2e9), String(0.5), String(3.7), String(-2.25));

//# small and large floats
show(String(5e-324), String(1.7976931348623157e308), String(123.456e10), String(1e-6), String(1.5e-7), String(1e100));

//# toString with a radix
show((255).toString(16), (255).toString(2), (-255).toString(16), (3.75).toString(16), (0.5).toString(2), (12).toString(36));

//# toFixed
show((1.005).toFixed(2), (1234.5678).toFixed(0), (1.45).toFixed(1), (0).toFixed(2), (-1.5).toFixed(0), (2.5).toFixed(0), (1e21).toFixed(2), (0.000001).toFixed(7));

//# Math.round halves
show(Math.round(-1.5), Math.round(2.5), Math.round(-2.5), Math.round(0.49999999999999994), Math.round(-0.4));

//# Math functions the firmware uses
show(Math.floor(-1.5), Math.ceil(1.2), Math.abs(-3), Math.min(1, 2), Math.max(1, 2), Math.pow(2, 10), Math.min(), Math.max());

//# parseInt parseFloat Number
show(parseInt("12px"), parseInt("0x1f"), parseInt("z"), parseInt("08"), parseInt("ff", 16), parseFloat("1.5e3x"), Number("12px"), Number(""), Number(" 12 "), Number("0x10"), +true, +"1e3");

//# isNaN isFinite
show(isNaN("x"), isNaN("1"), isFinite("1"), isFinite(Infinity), isNaN(undefined));

//# integer arithmetic wraps like JavaScript
show(0x7fffffff + 1, (0xffffffff | 0), 0xffffffff >>> 0, (1 << 31), (1 << 31) >>> 0, -1 >>> 0, 5 / 2, 7 % 3, -7 % 3, 2147483647 * 2);

//# number to string keys
var o = {};
o[1] = "a";
o[2.5] = "b";
show(Object.keys(o));
