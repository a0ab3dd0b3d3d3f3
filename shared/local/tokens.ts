import { randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Actor, Role } from "../model/actor.ts";

/**
 * Local mode's callers: one bearer token per role, each made once in the secrets folder (mode
 * 600) and never logged. The admin's keeps the file name local mode always had, so a CLI set up
 * before roles existed stays an admin.
 */

const FILE: Record<Role, string> = { admin: "api-token", operator: "api-token-operator", viewer: "api-token-viewer" };

export function tokenFile(home: string, role: Role): string {
	return join(home, "secrets", FILE[role]);
}

/** The role's token, made on first use. */
export function localApiToken(home: string, role: Role = "admin"): string {
	const file = tokenFile(home, role);
	if (!existsSync(file)) {
		mkdirSync(join(home, "secrets"), { recursive: true, mode: 0o700 });
		writeFileSync(file, randomBytes(24).toString("hex"), { mode: 0o600 });
	}
	return readFileSync(file, "utf8").trim();
}

export function localApiTokens(home: string): Record<Role, string> {
	return Object.fromEntries(Role.options.map((role) => [role, localApiToken(home, role)])) as Record<Role, string>;
}

/** The caller an Authorization header names, or undefined when it holds none of the tokens. */
export function localCaller(tokens: Record<Role, string>, authorization: string | undefined): Actor | undefined {
	if (!authorization?.startsWith("Bearer ")) return undefined;
	const given = Buffer.from(authorization.slice("Bearer ".length));
	for (const role of Role.options) {
		const token = Buffer.from(tokens[role]);
		// a comparison whose time says nothing about how much of a token was right
		if (given.length === token.length && timingSafeEqual(given, token)) return { name: `local ${role}`, role };
	}
	return undefined;
}

/** The console's address signed in as a token's holder: the fragment never leaves the browser. */
export function consoleLink(apiUrl: string, token: string): string {
	return `${apiUrl}/#token=${encodeURIComponent(token)}`;
}
