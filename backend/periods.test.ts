import { expect, it } from "vitest";
import { isoWeek, month } from "./periods.ts";

const t = (iso: string) => Date.parse(iso) / 1000;

it("ISO weeks in Oslo time: year boundaries and local midnight", () => {
  expect(isoWeek(t("2026-01-01T12:00:00Z"))).toBe("2026-W01"); // Thursday
  expect(isoWeek(t("2027-01-01T12:00:00Z"))).toBe("2026-W53"); // Friday: still 2026's week 53
  expect(isoWeek(t("2024-12-30T12:00:00Z"))).toBe("2025-W01"); // Monday of 2025's week 1
  // Sunday 23:30 UTC is Monday 00:30 in Oslo (winter time): the next week
  expect(isoWeek(t("2026-02-08T23:30:00Z"))).toBe("2026-W07");
  expect(isoWeek(t("2026-02-08T22:30:00Z"))).toBe("2026-W06");
});

it("months in Oslo time", () => {
  expect(month(t("2026-01-31T23:30:00Z"))).toBe("2026-02");
  expect(month(t("2026-07-31T21:59:00Z"))).toBe("2026-07"); // summer time: 23:59 local
});
