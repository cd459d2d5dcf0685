// Error objects on Espruino: no name, TypeError is not an Error, no RangeError.

//# new Error
var e = new Error("x");
show(e.name, e.message, String(e), e instanceof Error, typeof e.stack);

//# new TypeError
var t = new TypeError("x");
show(t.name, t.message, String(t), t instanceof Error, t instanceof TypeError);

//# RangeError is missing
show(typeof RangeError, typeof EvalError, typeof URIError);

//# ReferenceError and SyntaxError exist but are not Errors
var r = new ReferenceError("r");
var s = new SyntaxError("s");
show(String(r), r instanceof Error, String(s), s instanceof Error);

//# Error without new and without message
var n = Error("y");
show(n instanceof Error, String(n), new Error().message, String(new Error()));

//# calling something that is not a function throws an Error
var o = {};
o.missing();

//# reading a property of undefined throws an Error
var u;
u.x;

//# an undefined variable throws a ReferenceError
notDefinedAnywhere;

//# JSON.parse throws a SyntaxError that is not an Error
JSON.parse("{");

//# a thrown string
throw "boom";

//# a thrown number and object
try { throw 5; } catch (x) { show(x); }
try { throw { code: 7 }; } catch (x) { show(x); }

//# catch without binding and finally
var log = [];
try { throw new Error("a"); } catch { log.push("caught"); } finally { log.push("finally"); }
show(log);

//# error message property is writable and custom fields survive
var f = new Error("m");
f.code = 3;
f.message = "changed";
show(f.code, f.message, String(f));

//# instanceof across thrown engine errors
try { null.x; } catch (x) { show(x instanceof Error, x instanceof TypeError); }
try { undefinedFn(); } catch (x) { show(x instanceof Error, x instanceof ReferenceError); }
