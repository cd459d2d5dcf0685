// process, E and the console the firmware uses (values that depend on the build are checked for shape).

//# process.memory fields
var m = process.memory();
show(typeof m.free, typeof m.usage, typeof m.total, m.free + m.usage === m.total, typeof m.history, typeof m.gc, typeof m.gctime);

//# process.memory total is the build's JsVars
show(process.memory().total);

//# E.getErrorFlags is an empty array when nothing happened
show(E.getErrorFlags());

//# process.version
show(process.version, typeof process.env);

//# E.hwRand is a 32-bit integer
var r = E.hwRand();
show(typeof r, r === (r | 0));

//# E.CRC32
show(E.CRC32("abc"), E.CRC32([1, 2, 3]));

//# E.getSizeOf is a number
show(typeof E.getSizeOf({ a: 1 }));

//# E.setConsole and E.getConsole exist
show(typeof E.setConsole, typeof E.getConsole, typeof E.reboot, typeof E.enableWatchdog, typeof E.kickWatchdog);

//# Serial1 has the methods the HAL uses
show(typeof Serial1.setup, typeof Serial1.write, typeof Serial1.on, typeof Serial1.print, typeof Serial1.removeAllListeners);

//# LoopbackA and LoopbackB pass data [async]
// how the bytes are split into "data" events depends on timing (the device delivered "h" then "i")
var got = "";
LoopbackB.on("data", function (d) { got += d; if (got.length >= 2) { show("got", got); LoopbackB.removeAllListeners("data"); done(); } });
LoopbackA.write("hi");
