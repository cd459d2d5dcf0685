// Scenario files a person got wrong: each is refused with the file, the key, what was there and what is
// expected — no stack trace, no key ignored in silence, no TOML message cut off (issue 14 item 8).
import { describe, expect, it } from "vitest";
import { parseScenario, ScenarioError } from "./format.ts";

const base = `name = "x"\nstart = "2026-11-02"\n[schedule]\ndoses = ["08:00"]\n`;
const parse = (text: string) => () => parseScenario("s.toml", text);

describe("scenario files with mistakes", () => {
  it("dates and times that do not exist", () => {
    expect(parse(base.replace("2026-11-02", "2026-13-40"))).toThrow(/^s\.toml: start: got "2026-13-40"; expected a day that exists/);
    expect(parse(base.replace("2026-11-02", "2027-02-29"))).toThrow(/start: got "2027-02-29"; expected a day that exists/);
    expect(parse(base + `[[event]]\nat = "2026-11-02 24:30"\nwhat = "press"\n`)).toThrow(/event\[0\]\.at: got "2026-11-02 24:30"; expected a date and time that exist/);
    expect(parseScenario("s.toml", base.replace("2026-11-02", "2028-02-29")).start).toBe("2028-02-29 00:00"); // a leap day exists
  });

  it("unknown keys, at every level, with the keys allowed there", () => {
    expect(parse(`seeed = 3\n` + base)).toThrow(/^s\.toml: seeed: got 3; expected no such key here; allowed: name, board, start, days/);
    expect(parse(base + `erly_min = 5\n`)).toThrow(/schedule\.erly_min: got 5; expected no such key here; allowed: version, doses, early_min/);
    expect(parse(base + `[patient]\npatern = ["ignore"]\n`)).toThrow(/patient\.patern/);
    expect(parse(base + `[[event]]\nat = "2026-11-02 10:00"\nwhat = "refill"\nmv = 3000\n`)).toThrow(/event\[0\]\.mv: got 3000; expected no such key here; allowed: at, what, jitter, doses/);
    expect(parse(base + `[[expect.event]]\nkind = "DoseTaken"\ncuont = 2\n`)).toThrow(/expect\.event\[0\]\.cuont/);
    expect(parse(`days = 2\nduration = "40m"\n` + base)).toThrow(/either days or duration, not both/);
  });

  it("a TOML syntax error keeps its whole sentence and names the line", () => {
    let msg = "";
    try {
      parseScenario("s.toml", `name = "x"\nstart = 2026-13-40x\n`);
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      msg = (e as Error).message;
    }
    expect(msg).toBe(`s.toml: not valid TOML: Incomplete datetime at line 2, column 19: "start = 2026-13-40x"`);
  });
});
