import { randomUUID } from "node:crypto";
import { z } from "zod";
import { type Connection, connect } from "../db/connect.ts";
import { type Credentials, type DataSource, Endpoint, Engine } from "../model/datasource.ts";
import type { Project } from "../model/project.ts";
import type { Context } from "./context.ts";
import { conflict, invalid, notFound } from "./errors.ts";

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

const key = (id: string) => ({ pk: "DATASOURCE", sk: id });

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

function publicView(stored: DataSource): DataSource {
	const { id, name, engine, description, host, port, user, tls, createdAt, updatedAt } = stored;
	return {
		id,
		name,
		engine,
		description,
		host,
		port,
		user,
		tls,
		createdAt,
		updatedAt,
	};
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
	const stored = await ctx.store.create<Omit<DataSource, "id">>(key(id), {
		...endpoint,
		createdAt: now,
		updatedAt: now,
	});
	return { ...publicView({ ...stored, id }), serverVersion: version };
}

export async function getDataSource(ctx: Context, id: string): Promise<DataSource> {
	const stored = await ctx.store.get<DataSource>(key(id));
	if (!stored) throw notFound("data source", id);
	return publicView({ ...stored, id });
}

export async function listDataSources(ctx: Context): Promise<DataSource[]> {
	const all = await ctx.store.list<DataSource>("DATASOURCE");
	return all.map((s) => publicView({ ...s, id: s.sk }));
}

/** The password is read from the secret store at connect time only. */
export async function credentialsFor(ctx: Context, id: string): Promise<Credentials> {
	const ds = await getDataSource(ctx, id);
	return {
		host: ds.host,
		port: ds.port,
		user: ds.user,
		tls: ds.tls,
		password: await ctx.secrets.get(id),
	};
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
	const saved = await ctx.store.modify<DataSource>(key(id), (cur) => ({
		...cur,
		...fields,
		updatedAt: next.updatedAt,
	}));
	if (!saved) throw notFound("data source", id);
	return publicView({ ...saved, id });
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
	const projects = await ctx.store.list<Project>("PROJECT");
	const users = projects.filter((p) => (p.sourceId === id || p.destinationId === id) && ACTIVE_STATES.has(p.state));
	if (users.length > 0) {
		throw conflict(
			"DATASOURCE_IN_USE",
			`data source '${id}' is used by project(s) ${users.map((p) => `'${p.name}'`).join(", ")}: release them first`,
		);
	}
	await ctx.store.delete(key(id));
	await ctx.secrets.delete(id);
}

/** Runs `work` with one connection to the project's source and one to its destination, closed after. */
export async function withConnections<T>(
	ctx: Context,
	project: Pick<Project, "sourceId" | "destinationId">,
	work: (source: Connection, destination: Connection) => Promise<T>,
): Promise<T> {
	const [source, destination] = await Promise.all([
		credentialsFor(ctx, project.sourceId).then(connect),
		credentialsFor(ctx, project.destinationId).then(connect),
	]);
	try {
		return await work(source, destination);
	} finally {
		await Promise.allSettled([source.end(), destination.end()]);
	}
}
