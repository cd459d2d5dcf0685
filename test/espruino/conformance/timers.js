// Timers and the calls the firmware makes on pins (accepted and ignored on these builds).

//# clearTimeout(undefined) throws
err(function () { clearTimeout(undefined); });
err(function () { clearInterval(undefined); });

//# clearing an unknown id does not throw
err(function () { clearTimeout(12345); });

//# setTimeout returns a number and fires in order [async]
var out = [];
var id1 = setTimeout(function () { out.push("b"); }, 20);
var id2 = setTimeout(function () { out.push("a"); }, 5);
setTimeout(function () { show(typeof id1, id1 !== id2, out); done(); }, 40);

//# setTimeout with extra arguments [async]
setTimeout(function (x, y) { show(x, y); done(); }, 1, "p", 2);

//# clearTimeout cancels [async]
var fired = false;
var t = setTimeout(function () { fired = true; }, 5);
clearTimeout(t);
setTimeout(function () { show(fired); done(); }, 20);

//# setInterval and clearInterval [async]
var n = 0;
var iv = setInterval(function () {
  n++;
  if (n === 3) { clearInterval(iv); setTimeout(function () { show(n); done(); }, 30); }
}, 5);

//# an error in a timer is printed and the program goes on [async]
setTimeout(function () { throw "boom"; }, 1);
setTimeout(function () { show("still running"); done(); }, 10);

//# setWatch returns a number; clearWatch takes it
var w = setWatch(function () {}, D1, { repeat: true, edge: "both", debounce: 25 });
show(typeof w);
clearWatch(w);
err(function () { clearWatch(undefined); });

//# digitalWrite pinMode digitalRead are accepted
show(digitalWrite(D1, 1), pinMode(D2, "input_pullup"), typeof digitalRead(D2));

//# getTime is seconds as a number
var g = getTime();
show(typeof g, g >= 0);
