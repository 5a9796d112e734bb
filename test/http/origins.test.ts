/**
 * The browser-origin allow-list alone (src/http/origins.ts): exact origins, normalised; the
 * WebSocket rule (no Origin allowed, listed or same origin allowed, anything else refused).
 */
import { describe, expect, it } from "vitest";
import { normalizeOrigin, OriginPolicy } from "../../src/http/origins.js";

describe("normalizeOrigin", () => {
  it.each([
    ["https://CRM.example.com", "https://crm.example.com"],
    ["https://crm.example.com/", "https://crm.example.com"],
    ["http://localhost:5173", "http://localhost:5173"],
    ["https://crm.example.com:443", "https://crm.example.com"],
  ])("%s → %s", (value, origin) => {
    expect(normalizeOrigin(value)).toBe(origin);
  });

  it.each([["*"], ["null"], ["crm.example.com"], ["https://crm.example.com/app"], ["https://u:p@crm.example.com"], ["ftp://x.example"], ["https://x.example?q"]])(
    "%s is not an origin",
    (value) => {
      expect(normalizeOrigin(value)).toBeUndefined();
    },
  );
});

describe("OriginPolicy", () => {
  const policy = new OriginPolicy(["https://crm.example.com"]);

  it("allows listed origins only", () => {
    expect(policy.allows("https://crm.example.com")).toBe(true);
    expect(policy.allows("https://CRM.example.com")).toBe(true);
    expect(policy.allows("http://crm.example.com")).toBe(false);
    expect(policy.allows("https://crm.example.com.evil.example")).toBe(false);
    expect(policy.allows("null")).toBe(false);
  });

  it("WebSocket upgrades: no Origin, a listed origin or the same origin", () => {
    expect(policy.allowsUpgrade(undefined, "gateway:4000")).toBe(true);
    expect(policy.allowsUpgrade("https://crm.example.com", "gateway:4000")).toBe(true);
    expect(policy.allowsUpgrade("http://gateway:4000", "gateway:4000")).toBe(true);
    expect(policy.allowsUpgrade("http://gateway:4001", "gateway:4000")).toBe(false);
    expect(policy.allowsUpgrade("https://evil.example", "gateway:4000")).toBe(false);
    expect(policy.allowsUpgrade("https://evil.example", undefined)).toBe(false);
    expect(policy.allowsUpgrade("null", "gateway:4000")).toBe(false);
  });
});
