import type { z } from "zod";
import type { Context } from "../context.ts";
import type { Actor } from "../model/actor.ts";

/** One route of the REST API: its method, path, access, body schema and handler (routes.ts lists them all). */

export interface Request<B> {
	params: Record<string, string>;
	query: Record<string, string | undefined>;
	body: B;
	/** Who calls: dispatch has already checked that their role may use the route. */
	actor: Actor;
}

/**
 * What a route needs of its caller's role (access.ts ranks them): `read` any role, `operate` an
 * operator (runs projects) or an admin, `admin` an admin only.
 */
export type Access = "read" | "operate" | "admin";

export interface Route<B = unknown> {
	method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
	path: string;
	operationId: string;
	summary: string;
	access: Access;
	body?: z.ZodType<B>;
	/** The status of a successful answer. */
	status: 200 | 201 | 204;
	/**
	 * The command records the call in the timeline itself, with an event more telling than the
	 * one dispatch records for every other change (a ticket's step and decision, a setting's old
	 * and new value).
	 */
	recordsOwnEvent?: true;
	handle(ctx: Context, req: Request<B>): Promise<unknown>;
}

/** A route with its body type checked against its handler, as the list holds it. */
export function route<B>(r: Route<B>): Route<unknown> {
	return r as Route<unknown>;
}
