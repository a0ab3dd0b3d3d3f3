import type { Context } from "../context.ts";
import { type Connection, connect } from "../db/connect.ts";
import { invalid, notFound } from "../errors.ts";
import {
	type Credentials,
	type DatabaseSource,
	type DataSource,
	isBroker,
	type KafkaCredentials,
	type RocketMqCredentials,
} from "../model/datasource.ts";
import type { Project } from "../model/project.ts";
import { DATA_SOURCES_PK, dataSourceKey } from "./keys.ts";
import type { StateStore } from "./store.ts";
import { withoutKey } from "./store.ts";

/**
 * Data source items: the endpoint, engine and name, never the password (that is in the secret
 * store, read at connect time only).
 */

export type DataSourceItem = DataSource extends infer D ? (D extends DataSource ? Omit<D, "id"> : never) : never;

function publicView(item: DataSourceItem, id: string): DataSource {
	return { ...item, id } as DataSource;
}

export async function getDataSource(ctx: { store: StateStore }, id: string): Promise<DataSource> {
	const stored = await ctx.store.get<DataSourceItem>(dataSourceKey(id));
	if (!stored) throw notFound("data source", id);
	return publicView(withoutKey(stored), id);
}

export async function listDataSources(ctx: { store: StateStore }): Promise<DataSource[]> {
	const all = await ctx.store.list<DataSourceItem>(DATA_SOURCES_PK);
	return all.map((s) => publicView(withoutKey(s), s.sk));
}

export async function createDataSourceItem(
	ctx: { store: StateStore },
	id: string,
	item: DataSourceItem,
): Promise<DataSource> {
	return publicView(withoutKey(await ctx.store.create<DataSourceItem>(dataSourceKey(id), item)), id);
}

/** Replaces a data source's item (an edit, validated whole by the caller). */
export async function replaceDataSource(
	ctx: { store: StateStore },
	id: string,
	item: DataSourceItem,
): Promise<DataSource> {
	const saved = await ctx.store.modify<DataSourceItem>(dataSourceKey(id), () => item);
	if (!saved) throw notFound("data source", id);
	return publicView(withoutKey(saved), id);
}

export async function deleteDataSourceItem(ctx: { store: StateStore }, id: string): Promise<void> {
	await ctx.store.delete(dataSourceKey(id));
}

/** A data source that must be a database (a migration's ends, a synchronization's source). */
export async function getDatabaseSource(ctx: { store: StateStore }, id: string): Promise<DatabaseSource> {
	const ds = await getDataSource(ctx, id);
	if (isBroker(ds)) {
		throw invalid(
			"NOT_A_DATABASE",
			`data source '${ds.name}' (${id}) is a ${ds.engine} message queue, not a database: choose a MySQL-compatible data source`,
		);
	}
	return ds;
}

/** The password is read from the secret store at connect time only. */
export async function credentialsFor(ctx: Context, id: string): Promise<Credentials> {
	const ds = await getDatabaseSource(ctx, id);
	return { host: ds.host, port: ds.port, user: ds.user, tls: ds.tls, password: await ctx.secrets.get(id) };
}

/** A message queue's endpoint with its secret (SASL password, RocketMQ secret key), read at connect time only. */
export async function brokerCredentialsFor(
	ctx: Context,
	id: string,
): Promise<{ engine: "kafka"; creds: KafkaCredentials } | { engine: "rocketmq"; creds: RocketMqCredentials }> {
	const ds = await getDataSource(ctx, id);
	const password = await ctx.secrets.get(id);
	if (ds.engine === "kafka") {
		const { brokers, tls, sasl, user, clientId } = ds;
		return { engine: "kafka", creds: { brokers, tls, sasl, ...(user ? { user } : {}), clientId, password } };
	}
	if (ds.engine === "rocketmq") {
		const { endpoint, tls, accessKey, namespace } = ds;
		return {
			engine: "rocketmq",
			creds: { endpoint, tls, ...(accessKey ? { accessKey } : {}), ...(namespace ? { namespace } : {}), password },
		};
	}
	throw invalid("NOT_A_BROKER", `data source '${ds.name}' (${id}) is a ${ds.engine} database, not a message queue`);
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
