import { checkCaptureSettings } from "../../capture/precheck.ts";
import type { Context } from "../../context.ts";
import type { Connection } from "../../db/connect.ts";
import { feedFindings } from "../../feed/precheck.ts";
import { applyWaivers, blockingMessage } from "../../model/findings.ts";
import type { Finding, Project } from "../../model/project.ts";
import type { TableMapping } from "../../model/rules.ts";
import { describeRows, existingObjects } from "../../schema/inspect.ts";
import { checkSchemaPrerequisites } from "../../schema/precheck.ts";
import { resolveObjects } from "../../schema/resolve.ts";
import { tableKey } from "../../schema/snapshot.ts";
import { brokerCredentialsFor, getDatabaseSource, withConnections } from "../../state/datasources.ts";
import { saveFullProgress } from "../../state/progress.ts";
import { updateProject } from "../../state/projects.ts";
import { createTable } from "../../state/tables.ts";
import { readTriggers } from "../../switchover/triggers.ts";
import { schemaPlan } from "../schema-phases.ts";
import type { Step } from "../step.ts";

/** Without schema migration the tables must already exist at the destination, empty. */
async function checkExistingTables(destination: Connection, mappings: TableMapping[]): Promise<Finding[]> {
	const findings: Finding[] = [];
	for (const m of mappings) {
		const object = `${m.destination.database}.${m.destination.table}`;
		const type = (await existingObjects(destination, m.destination.database)).get(m.destination.table);
		if (type !== "BASE TABLE") {
			findings.push({
				level: "error",
				object,
				message: "does not exist at the destination",
				fix: "tick schema migration, or create the table first",
			});
			continue;
		}
		const rows = await describeRows(destination, m.destination);
		if (rows !== null)
			findings.push({
				level: "error",
				object,
				message: `destination table ${object} already has ${rows}`,
				fix: "empty it, exclude it or rename it",
			});
	}
	return findings;
}

/** Two-way sync runs no triggers on replayed rows correctly: each is a blocking finding. */
async function twoWayFindings(source: Connection, destination: Connection, mappings: TableMapping[]) {
	const findings: Finding[] = (await checkCaptureSettings(destination)).map((f) => ({
		...f,
		object: `destination ${f.object}`,
	}));
	for (const t of await readTriggers(
		source,
		mappings.map((m) => m.source),
	)) {
		findings.push({
			level: "error",
			object: `${t.table.database}.${t.table.table}`,
			message: `has trigger ${t.name}: in two-way sync its effects, written inside replayed transactions, would be skipped on one side or applied twice`,
			fix: "drop the trigger while two-way sync runs, or use one-way migration with switchover",
		});
	}
	return findings;
}

/**
 * The source's row estimate of each table (information_schema), for progress only: one query per
 * database, not one per table (2,000 tables cost 2,000 round trips, tens of seconds, otherwise).
 */
async function rowEstimates(source: Connection, mappings: TableMapping[]): Promise<Map<string, number>> {
	const estimates = new Map<string, number>();
	for (const database of new Set(mappings.map((m) => m.source.database))) {
		const [rows] = await source.query(
			"SELECT TABLE_NAME AS t, COALESCE(TABLE_ROWS, 0) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
			[database],
		);
		for (const r of rows as { t: string; n: string }[]) estimates.set(tableKey({ database, table: r.t }), Number(r.n));
	}
	return estimates;
}

/**
 * The precheck's checks, changing nothing: the tables the rules resolve to, and the findings
 * with the project's waivers applied. The step records them; a dry run (`dryRun`) only returns them.
 */
async function check(
	ctx: Context,
	project: Project,
	source: Connection,
	destination: Connection,
): Promise<{ findings: Finding[]; mappings: TableMapping[] }> {
	const engine = (await getDatabaseSource(ctx, project.destinationId)).engine;
	const feed = project.feed;
	const feedBroker = feed ? await brokerCredentialsFor(ctx, feed.dataSourceId) : undefined;
	const mappings = await resolveObjects(source, project.objects);
	let findings: Finding[];
	if (project.types.includes("schema")) {
		const { snapshot, plan } = await schemaPlan(source, destination, project, mappings, engine);
		findings = await checkSchemaPrerequisites(destination, snapshot, plan);
	} else {
		findings = await checkExistingTables(destination, mappings);
	}
	if (feed && feedBroker?.engine === "kafka") {
		// the changes come from Kafka: its topics and format, and TiDB's snapshot life time
		const withFull = project.types.includes("full");
		findings.push(...(await feedFindings(feed, feedBroker.creds, source, mappings, withFull)));
	} else if (project.types.includes("incremental")) {
		// binlog format, row image and metadata, GTIDs, retention, replication privileges
		findings.push(...(await checkCaptureSettings(source)));
	}
	if (project.options.twoWay) findings.push(...(await twoWayFindings(source, destination, mappings)));
	return { findings: applyWaivers(findings, project.waivedFindings ?? []), mappings };
}

/**
 * Resolves the objects, checks what would fail later (errors block, unless waived; warnings
 * are kept on the project), and records one `TABLES#` item per table to migrate.
 */
export const precheck: Step = {
	name: "precheck",
	appliesTo: () => true,
	cannotSkip: async (_ctx, p) =>
		`it records the tables to migrate, so skipping it would complete the project with nothing migrated; fix the findings, or accept single ones with 'ferry project waive ${p.id} <finding id>', then retry`,
	dryRun: (ctx, project) =>
		withConnections(
			ctx,
			project,
			async (source, destination) => (await check(ctx, project, source, destination)).findings,
		),
	async run(ctx, project) {
		return withConnections(ctx, project, async (source, destination) => {
			const { findings, mappings } = await check(ctx, project, source, destination);
			await updateProject(ctx, project.id, (p) => ({ ...p, findings }));
			const errors = findings.filter((f) => f.level === "error");
			if (errors.length > 0) throw new Error(blockingMessage(project, errors));
			const estimates = await rowEstimates(source, mappings);
			let rowsEstimate = 0;
			for (const [index, mapping] of mappings.entries()) {
				const rows = estimates.get(tableKey(mapping.source)) ?? 0;
				rowsEstimate += rows;
				await createTable(ctx, project.id, { index, mapping, rowsEstimate: rows, planned: false, chunks: 0 });
			}
			// a status page has the copy's totals from here on, before the full step's first tick
			const tablesTotal = mappings.length;
			const none = { rowsCopied: 0, bytesCopied: 0, tablesDone: 0 };
			await saveFullProgress(ctx, project.id, { ...none, rowsEstimate, tablesTotal, allDone: tablesTotal === 0 });
			return "done" as const;
		});
	},
};
