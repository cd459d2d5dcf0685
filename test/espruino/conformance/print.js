// What print() and console.log() show (the firmware logs through console.log).

//# strings and primitives
print("text", 1, 1.5, true, null, undefined);
console.log("log", -3);

//# short arrays and objects
print([1, 2, 3]);
print({ a: 1, b: "x" });
print([]);
print({});

//# nested values
print([1, "a", { b: 2 }]);
print({ x: [1], y: { z: null } });

//# typed arrays and buffers
print(new Uint8Array([1, 2]));
print(new Uint8Array(3));
print(new Uint16Array([1000]));
print(new Uint8Array([1]).buffer);

//# many keys
print({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 });

//# strings inside objects are escaped
print({ s: "a\n\xff\"" }, ["\x01"]);

//# an Error
print(new Error("e"));
