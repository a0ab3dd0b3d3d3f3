import { signal } from "@preact/signals";

/** Mirrors shared/api/access.ts: a viewer reads, an operator also runs projects, an admin also manages data sources. */
export type Role = "admin" | "operator" | "viewer";
export type Access = "read" | "operate" | "admin";

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const NEEDS: Record<Access, Role> = { read: "viewer", operate: "operator", admin: "admin" };

export const me = signal<{ name: string; role: Role } | undefined>(undefined);

/** Whether the signed-in caller may do what needs `access`; controls they may not use are disabled, not hidden. */
export function can(access: Access): boolean {
	const who = me.value;
	return who !== undefined && RANK[who.role] >= RANK[NEEDS[access]];
}

/** The tooltip of a control the caller's role does not allow. */
export function notAllowed(access: Access): string | undefined {
	return can(access) ? undefined : `needs the ${NEEDS[access]} role; you are ${me.value?.role ?? "signed out"}`;
}
