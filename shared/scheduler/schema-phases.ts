import type { Context } from "../context.ts";
import { type Connection, connect } from "../db/connect.ts";
import type { Engine } from "../model/datasource.ts";
import type { Project } from "../model/project.ts";
import type { TableMapping } from "../model/rules.ts";
import { applySchemaPhase } from "../schema/apply.ts";
import { planSchema, type SchemaPhase, type SchemaPlan } from "../schema/plan.ts";
import { describeServer, readSchema } from "../schema/read.ts";
import { resolveViews } from "../schema/resolve.ts";
import { currentAccount, readRoutines } from "../schema/routines.ts";
import { credentialsFor, getDatabaseSource, withConnections } from "../state/datasources.ts";
import { saveSchemaReport } from "../state/reports.ts";
import { listTables } from "../state/tables.ts";

/**
 * The destination schema plan for a project: recomputed from the source each time a schema
 * phase runs (reading information_schema is cheap, and the plan is too large for one item).
 */
export async function schemaPlan(
	source: Connection,
	destination: Connection,
	project: Project,
	mappings: TableMapping[],
	engine: Engine,
) {
	const views = await resolveViews(source, project.objects);
	const snapshot = await readSchema(
		source,
		mappings.map((m) => m.source),
		views.map((v) => v.source),
	);
	const server = await describeServer(destination);
	const plan = planSchema(snapshot, mappings, engine, {
		deferSecondaryIndexes: project.options.deferSecondaryIndexes,
		destinationVersion: server.version,
		views,
		routines: await readRoutines(
			source,
			project.objects,
			mappings.map((m) => m.source),
		),
		destinationAccount: await currentAccount(destination),
		switchover: project.types.includes("switchover"),
		reverse: project.types.includes("reverse"),
	});
	return { snapshot, plan };
}

/**
 * Applies schema phases (the schema, indexes and finalize steps); each phase skips what
 * already exists, so a retry is harmless.
 */
export async function applySchemaPhases(ctx: Context, project: Project, phases: SchemaPhase[]): Promise<"done"> {
	const engine = (await getDatabaseSource(ctx, project.destinationId)).engine;
	const mappings = (await listTables(ctx, project.id)).map((t) => t.mapping);
	return withConnections(ctx, project, async (source, destination) => {
		const { plan } = await schemaPlan(source, destination, project, mappings, engine);
		if (phases.includes("tables")) await saveSchemaReport(ctx, project.id, plan.report);
		for (const phase of phases) {
			if (phase === "indexes") await applyIndexesInParallel(ctx, project, plan);
			else
				await applySchemaPhase(destination, plan, phase, {
					uncheckedForeignKeys: project.types.includes("incremental"),
				});
		}
		return "done" as const;
	});
}

/**
 * Secondary indexes held back for the load, built one table per connection with up to
 * `parallelism` tables at once: each build is one pass over a table, and the destination has
 * idle cores while a single ALTER runs.
 */
async function applyIndexesInParallel(ctx: Context, project: Project, plan: SchemaPlan): Promise<void> {
	const tables = [...new Set(plan.indexes.map((i) => `${i.table.database}.${i.table.table}`))];
	const queue = tables.map((name) => ({
		...plan,
		indexes: plan.indexes.filter((i) => `${i.table.database}.${i.table.table}` === name),
	}));
	const creds = await credentialsFor(ctx, project.destinationId);
	const builders = Array.from({ length: Math.min(project.options.parallelism, queue.length) }, async () => {
		const conn = await connect(creds);
		try {
			for (let next = queue.shift(); next; next = queue.shift()) await applySchemaPhase(conn, next, "indexes");
		} finally {
			await conn.end();
		}
	});
	await Promise.all(builders);
}
