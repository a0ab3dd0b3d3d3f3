import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Context } from "../context.ts";
import { connect } from "../db/connect.ts";
import { conflict, invalid } from "../errors.ts";
import type { Actor } from "../model/actor.ts";
import {
	type Credentials,
	type DataSource,
	Endpoint,
	Engine,
	KafkaEndpoint,
	RocketMqEndpoint,
} from "../model/datasource.ts";
import { testBrokerConnection } from "../sinks/connection.ts";
import {
	createDataSourceItem,
	type DataSourceItem,
	deleteDataSourceItem,
	getDataSource,
	replaceDataSource,
} from "../state/datasources.ts";
import { GLOBAL_TIMELINE, recordEvent, settingChanges } from "../state/events.ts";
import { listProjects } from "../state/projects.ts";

/** The user's data source commands: add (after a connection test), edit, copy, delete. */

const Described = {
	name: z.string().min(1).max(128),
	description: z.string().max(1000).optional(),
	/** The database password, SASL password or RocketMQ secret key: kept in the secret store only. */
	password: z.string().max(1024),
};

const DatabaseInput = Endpoint.extend({ ...Described, engine: Engine }).strict();
const KafkaInput = KafkaEndpoint.extend({
	...Described,
	engine: z.literal("kafka"),
	password: Described.password.default(""),
}).strict();
const RocketMqInput = RocketMqEndpoint.extend({
	...Described,
	engine: z.literal("rocketmq"),
	password: Described.password.default(""),
}).strict();

/** A database (MySQL, MariaDB, OceanBase, TiDB) or a message queue (Kafka, RocketMQ), by `engine`. */
export const DataSourceInput = z.discriminatedUnion("engine", [DatabaseInput, KafkaInput, RocketMqInput]);
export type DataSourceInput = z.infer<typeof DataSourceInput>;

/** An edit: any field of the data source's kind; the password only when it changes. */
export const DataSourcePatch = z.union([
	DatabaseInput.partial().strict(),
	KafkaInput.partial().strict(),
	RocketMqInput.partial().strict(),
]);
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

/**
 * What POST /datasources/test takes: the connection fields of any kind of data source, before it
 * has a name (the console tests before it saves); without `engine`, a database's endpoint.
 */
export const ConnectionTestInput = z.union([
	Endpoint.extend({ password: Described.password }).strict(),
	z.discriminatedUnion("engine", [
		DatabaseInput.omit({ name: true, description: true }),
		KafkaInput.omit({ name: true, description: true }),
		RocketMqInput.omit({ name: true, description: true }),
	]),
]);
export type ConnectionTestInput = z.infer<typeof ConnectionTestInput>;

/** The connection test of any kind of data source: a database's login, a broker's metadata. */
export async function testDataSource(input: ConnectionTestInput | DataSourceInput): Promise<{ version: string }> {
	const {
		name: _n,
		description: _d,
		...fields
	} = input as ConnectionTestInput & { name?: string; description?: string };
	if (!("engine" in fields)) return testConnection(fields);
	if (fields.engine === "kafka" || fields.engine === "rocketmq") {
		try {
			return await testBrokerConnection(fields);
		} catch (err) {
			throw invalid("CONNECTION_FAILED", (err as Error).message);
		}
	}
	const { engine: _e, ...creds } = fields;
	return testConnection(creds);
}

export async function addDataSource(
	ctx: Context,
	input: DataSourceInput,
): Promise<DataSource & { serverVersion: string }> {
	const { version } = await testDataSource(input);
	const { password, ...endpoint } = input;
	const now = new Date().toISOString();
	const id = `ds-${randomUUID().slice(0, 8)}`;
	await ctx.secrets.put(id, password);
	const created = await createDataSourceItem(ctx, id, {
		...endpoint,
		createdAt: now,
		updatedAt: now,
	} as DataSourceItem);
	return { ...created, serverVersion: version };
}

/** Edits a data source (connection tested again); the global timeline records who changed what, old and new. */
/** The fields that say where a data source connects and as whom. */
const WHERE_IT_CONNECTS = ["host", "port", "user", "tls", "brokers", "endpoint", "sasl", "accessKey", "namespace"];

export async function updateDataSource(
	ctx: Context,
	id: string,
	patch: DataSourcePatch,
	actor: Actor,
): Promise<DataSource> {
	const current = await getDataSource(ctx, id);
	const { password, ...fields } = patch;
	if (fields.engine && fields.engine !== current.engine) {
		throw invalid(
			"ENGINE_CHANGE",
			`data source '${current.name}' is ${current.engine}: add a new data source for ${fields.engine}`,
		);
	}
	const { id: _id, createdAt, updatedAt: _u, ...kept } = current;
	const stored = password === undefined ? await ctx.secrets.get(id) : undefined;
	// the stored secret is only ever sent where it was given for: a new address or login needs it again
	const moved = WHERE_IT_CONNECTS.filter(
		(k) =>
			k in fields &&
			JSON.stringify((fields as Record<string, unknown>)[k]) !== JSON.stringify((kept as Record<string, unknown>)[k]),
	);
	if (stored && moved.length > 0) {
		throw invalid(
			"PASSWORD_REQUIRED",
			`changing ${moved.join(", ")} of data source '${current.name}' needs its password again: the stored one is never sent anywhere new`,
		);
	}
	const merged = DataSourceInput.safeParse({ ...kept, ...fields, password: password ?? stored });
	if (!merged.success) {
		throw invalid(
			"INVALID_DATASOURCE",
			`the edit leaves data source '${current.name}' invalid: ${merged.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
		);
	}
	await testDataSource(merged.data);
	if (password !== undefined) await ctx.secrets.put(id, password);
	const { password: _p, ...item } = merged.data;
	const saved = await replaceDataSource(ctx, id, {
		...item,
		createdAt,
		updatedAt: new Date().toISOString(),
	} as DataSourceItem);
	// a password is never a setting's value in the timeline: only that it changed
	const changes = settingChanges(current, saved, ["updatedAt", "serverVersion"]);
	if (password !== undefined) changes.password = { old: "(hidden)", new: "(changed)" };
	await recordEvent(ctx, GLOBAL_TIMELINE, {
		kind: "settings-changed",
		message: `data source '${saved.name}' edited: ${Object.keys(changes).join(", ") || "nothing changed"}`,
		actor,
		subject: id,
		details: changes,
	});
	return saved;
}

/** A copy under a new name with the same secret: OMS's "copy a data source". */
export async function copyDataSource(ctx: Context, id: string, name: string): Promise<DataSource> {
	const source = await getDataSource(ctx, id);
	const password = await ctx.secrets.get(id);
	const { id: _old, createdAt: _c, updatedAt: _u, ...rest } = source;
	const copy = await addDataSource(ctx, DataSourceInput.parse({ ...rest, name, password }));
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
