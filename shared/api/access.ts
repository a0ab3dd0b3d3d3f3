import type { Actor, Role } from "../model/actor.ts";
import type { Access, Route } from "./route.ts";

/**
 * Who may call what. Roles are ranked, each holding what the ones below it hold: a viewer reads,
 * an operator also runs projects, an admin also manages data sources and deletes projects (OMS's
 * users, research/console.md [O5]). Ferry's own processes never call the API; their rank above
 * admin only says that nothing is refused to them.
 */
const RANK: Record<Actor["role"], number> = { viewer: 0, operator: 1, admin: 2, system: 3 };

/** The least role a route's access needs. */
export const ROLE_NEEDED: Record<Access, Role> = { read: "viewer", operate: "operator", admin: "admin" };

export function permits(actor: Actor, access: Access): boolean {
	return RANK[actor.role] >= RANK[ROLE_NEEDED[access]];
}

/** The caller as the console shows them (GET /me); Ferry's own processes never call the API. */
export async function whoAmI(actor: Actor): Promise<{ name: string; role: Role }> {
	return { name: actor.name, role: actor.role === "system" ? "admin" : actor.role };
}

export interface OperationAccess {
	operationId: string;
	method: Route["method"];
	path: string;
	summary: string;
	/** The least role that may call it. */
	role: Role;
}

/** What each role may call (GET /roles): the console's users and roles page shows it as a table. */
export async function roleMatrix(routes: readonly Route[]): Promise<OperationAccess[]> {
	return routes.map((r) => ({
		operationId: r.operationId,
		method: r.method,
		path: r.path,
		summary: r.summary,
		role: ROLE_NEEDED[r.access],
	}));
}
