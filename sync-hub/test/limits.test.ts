import { describe, expect, it } from "vitest";
import { LIMITS, limitsFor } from "../src/limits";

describe("limits from the Worker's variables", () => {
  it("fits D1's free plan by default, the account's rate four times a key's", () => {
    expect(limitsFor({})).toEqual(LIMITS);
    expect(LIMITS).toMatchObject({
      max_account_records: 200_000,
      max_account_bytes: 200_000_000,
      account_rate_limit_per_minute: 4 * LIMITS.rate_limit_per_minute,
    });
    expect(limitsFor({ RATE_LIMIT_PER_MINUTE: "10" }).account_rate_limit_per_minute).toBe(40);
  });

  it("takes each variable as a whole number, 0 included", () => {
    const vars = {
      RATE_LIMIT_PER_MINUTE: "0",
      ACCOUNT_RATE_LIMIT_PER_MINUTE: "30",
      QUOTA_RECORDS: "0",
      QUOTA_BYTES: "1048576",
    };
    expect(limitsFor(vars)).toMatchObject({
      rate_limit_per_minute: 0,
      account_rate_limit_per_minute: 30,
      max_account_records: 0,
      max_account_bytes: 1_048_576,
    });
    expect(() => limitsFor({ QUOTA_BYTES: "1GiB" })).toThrow(
      'QUOTA_BYTES must be a whole number, not "1GiB"',
    );
  });
});
