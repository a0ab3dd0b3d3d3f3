import type { Actor, Role } from "../model/actor.ts";
import type { Access } from "./route.ts";

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
