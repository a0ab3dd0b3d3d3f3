import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Context } from "../context.ts";
import { connect } from "../db/connect.ts";
import { conflict, invalid } from "../errors.ts";
import { type Credentials, type DataSource, Endpoint, Engine } from "../model/datasource.ts";
import { createDataSourceItem, deleteDataSourceItem, getDataSource, modifyDataSource } from "../state/datasources.ts";
import { listProjects } from "../state/projects.ts";

/** The user's data source commands: add (after a connection test), edit, copy, delete. */

export const DataSourceInput = Endpoint.extend({
	name: z.string().min(1).max(128),
	engine: Engine,
	description: z.string().max(1000).optional(),
	password: z.string().max(1024),
}).strict();
export type DataSourceInput = z.infer<typeof DataSourceInput>;

/** An edit: any field; the password only when it changes. */
export const DataSourcePatch = DataSourceInput.partial().strict();
export type DataSourcePatch = z.infer<typeof DataSourcePatch>;

/** Logs in and asks the server its version: the connection test OMS runs before saving. */
export async function testConnection(creds: Credentials): Promise<{ version: string }> {
	let conn: Awaited<ReturnType<typeof connect>>;
	try {
		conn = await connect(creds);
	} catch (err) {
		throw invalid("CONNECTION_FAILED", (err as Error).message);
	}
	try {
		const [rows] = await conn.query("SELECT VERSION() AS version");
		return {
			version: (rows as { version: string }[])[0]?.version ?? "unknown",
		};
	} finally {
		await conn.end();
	}
}

export async function addDataSource(
	ctx: Context,
	input: DataSourceInput,
): Promise<DataSource & { serverVersion: string }> {
	const { password, ...endpoint } = input;
	const { version } = await testConnection({ ...endpoint, password });
	const now = new Date().toISOString();
	const id = `ds-${randomUUID().slice(0, 8)}`;
	await ctx.secrets.put(id, password);
	const created = await createDataSourceItem(ctx, id, { ...endpoint, createdAt: now, updatedAt: now });
	return { ...created, serverVersion: version };
}

export async function updateDataSource(ctx: Context, id: string, patch: DataSourcePatch): Promise<DataSource> {
	const current = await getDataSource(ctx, id);
	const { password, ...fields } = patch;
	const next = { ...current, ...fields, updatedAt: new Date().toISOString() };
	await testConnection({
		...next,
		password: password ?? (await ctx.secrets.get(id)),
	});
	if (password !== undefined) await ctx.secrets.put(id, password);
	return modifyDataSource(ctx, id, { ...fields, updatedAt: next.updatedAt });
}

/** A copy under a new name with the same secret: OMS's "copy a data source". */
export async function copyDataSource(ctx: Context, id: string, name: string): Promise<DataSource> {
	const source = await getDataSource(ctx, id);
	const password = await ctx.secrets.get(id);
	const { id: _old, createdAt: _c, updatedAt: _u, ...rest } = source;
	const copy = await addDataSource(ctx, { ...rest, name, password });
	const { serverVersion: _v, ...view } = copy;
	return view;
}

const ACTIVE_STATES = new Set(["running", "paused", "failed"]);

export async function deleteDataSource(ctx: Context, id: string): Promise<void> {
	await getDataSource(ctx, id);
	const projects = await listProjects(ctx);
	const users = projects.filter((p) => (p.sourceId === id || p.destinationId === id) && ACTIVE_STATES.has(p.state));
	if (users.length > 0) {
		throw conflict(
			"DATASOURCE_IN_USE",
			`data source '${id}' is used by project(s) ${users.map((p) => `'${p.name}'`).join(", ")}: release them first`,
		);
	}
	await deleteDataSourceItem(ctx, id);
	await ctx.secrets.delete(id);
}
