import type { z } from "zod";
import type { Context } from "../context.ts";
import type { Actor } from "../model/actor.ts";

/** One route of the REST API: its method, path, body schema and handler (routes.ts lists them all). */

export interface Request<B> {
	/** Who calls, when the API knows (recorded with every change; SYSTEM when absent). */
	actor?: Actor;
	params: Record<string, string>;
	query: Record<string, string | undefined>;
	body: B;
}

export interface Route<B = unknown> {
	method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
	path: string;
	operationId: string;
	summary: string;
	body?: z.ZodType<B>;
	/** The status of a successful answer. */
	status: 200 | 201 | 204;
	handle(ctx: Context, req: Request<B>): Promise<unknown>;
}

/** A route with its body type checked against its handler, as the list holds it. */
export function route<B>(r: Route<B>): Route<unknown> {
	return r as Route<unknown>;
}
