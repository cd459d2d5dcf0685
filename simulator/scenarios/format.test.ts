import { describe, expect, it } from "vitest";
import { parseBehaviour, parseDuration, parseScenario } from "./format.ts";
import { dosesOn, osloStamp, osloToUnix } from "./local-time.ts";

const base = `name = "x"\nstart = "2026-11-02"\n[schedule]\ndoses = ["08:00"]\n`;

describe("scenario format", () => {
  it("parses a full file with defaults", () => {
    const sc = parseScenario("a.toml", base + `[patient]\npattern = ["late:45", "ignore"]\n[[event]]\nat = "2026-11-02 10:00"\nwhat = "gateway_offline"\nfor = "3d"\njitter = "2s"\n[expect]\nDoseTaken = 3\n[[expect.event]]\nkind = "Fault"\ncode = "MotorJam"\ncleared = true\n`);
    expect(sc.start).toBe("2026-11-02 00:00");
    expect(sc.days).toBe(1);
    expect(sc.runs).toBe(1);
    expect(sc.schedule.doses).toEqual([{ minute: 480, weekdays: 0 }]);
    expect(sc.pattern).toEqual([{ kind: "late", minutes: 45 }, { kind: "ignore", minutes: 0 }]);
    expect(sc.events[0]).toMatchObject({ what: "gateway_offline", forS: 3 * 86400, jitterS: 2 });
    expect(sc.totals).toEqual({ DoseTaken: 3 });
    expect(sc.expected[0]).toMatchObject({ kind: "Fault", code: 1, cleared: true, count: 1 });
  });

  it("tray_max and expectations conditional on a raised fault (when / unless)", () => {
    const sc = parseScenario("a.toml", `tray_max = 2\n` + base + `[[expect.event]]\nkind = "DoseMissed"\nscheduled = "2026-11-02 08:00"\nwhen = "DoseReleased"\n[[expect.event]]\nkind = "DoseTaken"\nunless = "DoseReleased"\ncount = 0\n`);
    expect(sc.trayMax).toBe(2);
    expect(parseScenario("b.toml", base).trayMax).toBe(1); // never two in the tray, by default
    expect(parseScenario("c.toml", `tray_max = 0\n` + base).trayMax).toBe(0); // unchecked
    expect(sc.expected[0]).toMatchObject({ kind: "DoseMissed", when: 14, count: 1 });
    expect(sc.expected[1]).toMatchObject({ kind: "DoseTaken", unless: 14, count: 0 });
    expect(() => parseScenario("s.toml", base + `[[expect.event]]\nkind = "Fault"\nwhen = "Spilled"\n`)).toThrow(/s\.toml: expect\.event\[0\]\.when: got "Spilled"; expected a fault name/);
    expect(() => parseScenario("s.toml", `tray_max = -1\n` + base)).toThrow(/tray_max/);
  });

  it("errors name the file, the key, the bad value and the expected form", () => {
    expect(() => parseScenario("s.toml", `name = "x"\nstart = "2026-11-02"\n[schedule]\ndoses = ["25:00"]\n`)).toThrow(/s\.toml: schedule\.doses\[0\]: got "25:00"; expected a wall time/);
    expect(() => parseScenario("s.toml", base + `[[event]]\nat = "2026-11-02 10:00"\nwhat = "explode"\n`)).toThrow(/s\.toml: event\[0\]\.what: got "explode"; expected one of power_cut/);
    expect(() => parseScenario("s.toml", base + `[expect]\nDoseEaten = 1\n`)).toThrow(/expect\.DoseEaten/);
    expect(() => parseScenario("s.toml", `name = "x"\n`)).toThrow(/s\.toml: start: missing/);
    expect(() => parseBehaviour("f", "k", "late")).toThrow(/"late:<minutes>"/);
    expect(() => parseDuration("f", "k", "3 days")).toThrow(/a duration like/);
    expect(() => parseScenario("s.toml", "name = ")).toThrow(/s\.toml: not valid TOML/);
  });

  it("Oslo wall times from Intl follow the documented DST rules", () => {
    expect(new Date(osloToUnix("2026-03-29 02:30") * 1000).toISOString()).toBe("2026-03-29T01:00:00.000Z"); // gap -> 03:00 CEST
    expect(new Date(osloToUnix("2026-10-25 02:30") * 1000).toISOString()).toBe("2026-10-25T00:30:00.000Z"); // overlap -> first
    expect(osloStamp(osloToUnix("2026-11-02 08:00"))).toBe("2026-11-02 08:00:00");
    expect(dosesOn("2026-03-29", [{ minute: 130, weekdays: 0 }, { minute: 170, weekdays: 0 }]).map((t) => t - osloToUnix("2026-03-29 03:00"))).toEqual([0, 60]);
    expect(dosesOn("2026-11-02", [{ minute: 480, weekdays: 2 }])).toEqual([]); // Monday, mask says Tuesday
  });
});
