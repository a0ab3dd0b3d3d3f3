import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localApiToken, localApiTokens, localCaller, tokenFile } from "../../shared/local/tokens.ts";

describe("local mode's tokens, one per role", () => {
	const home = mkdtempSync(join(tmpdir(), "ferry-tokens-"));
	afterAll(() => rmSync(home, { recursive: true, force: true }));

	it("are made once, readable by the owner only, and the admin's stays where it always was", () => {
		const tokens = localApiTokens(home);
		expect(new Set(Object.values(tokens)).size).toBe(3);
		expect(localApiTokens(home)).toEqual(tokens);
		expect(tokenFile(home, "admin")).toBe(join(home, "secrets", "api-token"));
		expect(readFileSync(join(home, "secrets", "api-token"), "utf8")).toBe(tokens.admin);
		expect(localApiToken(home)).toBe(tokens.admin);
		for (const role of ["admin", "operator", "viewer"] as const) {
			expect(statSync(tokenFile(home, role)).mode & 0o777, role).toBe(0o600);
		}
	});

	it("name the caller whose token a bearer header holds, and no one for anything else", () => {
		const tokens = localApiTokens(home);
		expect(localCaller(tokens, `Bearer ${tokens.operator}`)).toEqual({ name: "local operator", role: "operator" });
		expect(localCaller(tokens, `Bearer ${tokens.viewer}`)?.role).toBe("viewer");
		expect(localCaller(tokens, tokens.admin)).toBeUndefined();
		expect(localCaller(tokens, `Bearer ${tokens.admin.slice(0, -1)}`)).toBeUndefined();
		expect(localCaller(tokens, "Bearer ")).toBeUndefined();
		expect(localCaller(tokens, undefined)).toBeUndefined();
	});
});
