// Date: local time is UTC (no time zone database).

//# parse ISO strings
// Fractional seconds whose decimal value is not exact in binary (".678") depend on the i386 build's x87
// extended precision ((int)(5.678*1000) is 5677 there, 5678 in IEEE double as on the boards' ARM and
// Xtensa cores and in the simulator): only exact fractions are compared.
show(Date.parse("2026-01-02T03:04:05Z"), Date.parse("2026-01-02T03:04:05"), Date.parse("2026-01-02"), Date.parse("2026-01-02T03:04:05.500Z"), Date.parse("2026-01-02T03:04:05.25Z"), Date.parse("2026-01-02T03:04:05+01:00"));

//# toISOString and toString
var d = new Date(1774746000123);
show(d.toISOString(), d.toString(), new Date(0).toString(), new Date(0).toUTCString(), d.toJSON());

//# getters
var d = new Date(1774746000123);
show(d.getFullYear(), d.getMonth(), d.getDate(), d.getDay(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds(), d.getTimezoneOffset(), d.getTime(), d.valueOf());

//# setters
var s = new Date(0);
s.setHours(5);
s.setMinutes(3);
s.setDate(4);
s.setSeconds(7);
show(s.getTime());
s.setTime(1000);
show(s.getTime());

//# constructor forms
show(new Date(2026, 0, 2).getTime(), new Date(2026, 0, 2, 3, 4, 5).getTime(), new Date("2026-03-29T01:00:00").getTime(), new Date(1e12).getTime());

//# invalid dates
var bad = new Date("garbage");
show(bad.getTime(), Date.parse("garbage"));

//# Date called as a function
show(typeof Date());

//# Date.now is a number
show(typeof Date.now(), Date.now() >= 0);

//# date arithmetic
var a = new Date(1000), b = new Date(3500);
show(b - a, a < b, +a);
