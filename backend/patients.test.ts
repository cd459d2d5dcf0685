import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkNationalId, loadPatients, parsePatients, withCheckDigits, NATIONAL_ID_SYSTEMS } from "./patients.ts";

// synthetic persons only (Tenor: month + 80)
const FNR = withCheckDigits("158185123")!; // 15 Jan 1985, synthetic (month + 80)
const DNR = withCheckDigits("558190456")!; // D-number: day 15 + 40, synthetic month
const FHN = withCheckDigits("812345678")!; // felles hjelpenummer

describe("national identity numbers", () => {
  it("accepts valid synthetic numbers of each kind and names the kind", () => {
    expect(FNR).toHaveLength(11);
    expect(checkNationalId(FNR, true)).toEqual({ kind: "fnr" });
    expect(checkNationalId(DNR, true)).toEqual({ kind: "dnr" });
    expect(checkNationalId(FHN, true)).toEqual({ kind: "fhn" });
  });
  it("refuses a synthetic person unless allowed", () => {
    expect(checkNationalId(FNR).error).toMatch(/allow_synthetic/);
  });
  it("refuses wrong check digits, lengths and dates", () => {
    const bad1 = FNR.slice(0, 9) + ((Number(FNR[9]) + 1) % 10) + FNR[10];
    expect(checkNationalId(bad1, true).error).toMatch(/first check digit/);
    const bad2 = FNR.slice(0, 10) + ((Number(FNR[10]) + 1) % 10);
    expect(checkNationalId(bad2, true).error).toMatch(/second check digit/);
    expect(checkNationalId("1234", true).error).toMatch(/11 digits/);
    const badMonth = withCheckDigits("151385124");
    if (badMonth) expect(checkNationalId(badMonth, true).error).toMatch(/month/);
  });
  it("the known public check-digit example holds (weights per Skatteetaten)", () => {
    // every completed number validates; a completion never yields check digit 10
    for (let i = 0; i < 500; i++) {
      const nine = "0101" + String(80 + (i % 10)) + String(100 + i).padStart(3, "0");
      const n = withCheckDigits(nine);
      if (n) expect(checkNationalId(n).error).toBeUndefined();
    }
  });
});

describe("patient registry", () => {
  const toml = (extra = "") => `allow_synthetic = true
[[patient]]
id = "p1"
name = "Kari Nordmann"
national_id = "${FNR}"
team = "nord"
devices = [1001, 2001]
${extra}`;

  it("loads patients with identifier systems and device index", () => {
    const reg = parsePatients("patients.toml", toml());
    expect(reg.patients).toHaveLength(1);
    expect(reg.byDevice.get(2001)?.name).toBe("Kari Nordmann");
    expect(reg.byId.get("p1")?.idSystem).toBe(NATIONAL_ID_SYSTEMS.fnr);
  });
  it("errors name the file, the entry and the key", () => {
    expect(() => parsePatients("x.toml", toml(`[[patient]]\nid = "p2"\nname = "Ola"\nnational_id = "12345678901"\nteam = "sør"\n`))).toThrow(
      /x\.toml: patient #2 \(id p2\): key "national_id": .*check digit/,
    );
    expect(() => parsePatients("x.toml", toml(`[[patient]]\nid = "p2"\nname = "Ola"\nnational_id = "${DNR}"\nteam = "sør"\ndevices = [1001]\n`))).toThrow(
      /device 1001 already belongs to patient "p1"/,
    );
    expect(() => parsePatients("x.toml", "[[patient]\n")).toThrow(/x\.toml: not valid TOML/);
  });
  it("a missing file or a directory is named", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "varde-pat-"));
    expect(() => loadPatients(path.join(dir, "none.toml"))).toThrow(/does not exist/);
    expect(() => loadPatients(dir)).toThrow(/is a directory/);
  });
});
