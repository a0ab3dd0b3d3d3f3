import type { Context } from "../context.ts";
import { type Connection, connect } from "../db/connect.ts";
import { notFound } from "../errors.ts";
import type { Credentials, DataSource } from "../model/datasource.ts";
import type { Project } from "../model/project.ts";
import { DATA_SOURCES_PK, dataSourceKey } from "./keys.ts";
import type { StateStore } from "./store.ts";
import { withoutKey } from "./store.ts";

/**
 * Data source items: the endpoint, engine and name, never the password (that is in the secret
 * store, read at connect time only).
 */

type Item = Omit<DataSource, "id">;

function publicView(item: Item, id: string): DataSource {
	const { name, engine, description, host, port, user, tls, createdAt, updatedAt } = item;
	return { id, name, engine, description, host, port, user, tls, createdAt, updatedAt };
}

export async function getDataSource(ctx: { store: StateStore }, id: string): Promise<DataSource> {
	const stored = await ctx.store.get<Item>(dataSourceKey(id));
	if (!stored) throw notFound("data source", id);
	return publicView(withoutKey(stored), id);
}

export async function listDataSources(ctx: { store: StateStore }): Promise<DataSource[]> {
	const all = await ctx.store.list<Item>(DATA_SOURCES_PK);
	return all.map((s) => publicView(withoutKey(s), s.sk));
}

export async function createDataSourceItem(ctx: { store: StateStore }, id: string, item: Item): Promise<DataSource> {
	return publicView(withoutKey(await ctx.store.create<Item>(dataSourceKey(id), item)), id);
}

export async function modifyDataSource(
	ctx: { store: StateStore },
	id: string,
	change: Partial<Item>,
): Promise<DataSource> {
	const saved = await ctx.store.modify<Item>(dataSourceKey(id), (cur) => ({ ...withoutKey(cur), ...change }));
	if (!saved) throw notFound("data source", id);
	return publicView(withoutKey(saved), id);
}

export async function deleteDataSourceItem(ctx: { store: StateStore }, id: string): Promise<void> {
	await ctx.store.delete(dataSourceKey(id));
}

/** The password is read from the secret store at connect time only. */
export async function credentialsFor(ctx: Context, id: string): Promise<Credentials> {
	const ds = await getDataSource(ctx, id);
	return { host: ds.host, port: ds.port, user: ds.user, tls: ds.tls, password: await ctx.secrets.get(id) };
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

/** Runs `work` on one connection to a data source, closed after. */
export async function withConnection<T>(
	ctx: Context,
	dataSourceId: string,
	work: (c: Connection) => Promise<T>,
): Promise<T> {
	const conn = await connect(await credentialsFor(ctx, dataSourceId));
	try {
		return await work(conn);
	} finally {
		await conn.end().catch(() => {});
	}
}
