import { serverFlavor } from "../../binlog/server.ts";
import { checkCaptureSettings } from "../../capture/precheck.ts";
import { findCopyKey } from "../../chunking/keys.ts";
import type { Context } from "../../context.ts";
import { applyWaivers, blockingMessage } from "../../model/findings.ts";
import type { Finding, Project } from "../../model/project.ts";
import type { TableMapping } from "../../model/rules.ts";
import { resolveObjects } from "../../schema/resolve.ts";
import { testBrokerConnection } from "../../sinks/connection.ts";
import { brokerCredentialsFor, withConnection } from "../../state/datasources.ts";
import { updateProject } from "../../state/projects.ts";
import { createTable } from "../../state/tables.ts";
import type { Step } from "../step.ts";

/** The checks, changing nothing: the tables the rules resolve to, and the findings with the waivers applied. */
async function check(ctx: Context, project: Project): Promise<{ findings: Finding[]; mappings: TableMapping[] }> {
	const findings: Finding[] = [];
	const broker = await brokerCredentialsFor(ctx, project.destinationId);
	try {
		await testBrokerConnection({ engine: broker.engine, ...broker.creds } as Parameters<
			typeof testBrokerConnection
		>[0]);
	} catch (err) {
		findings.push({
			level: "error",
			object: `destination ${broker.engine}`,
			message: (err as Error).message,
			fix: "check the data source's endpoint and credentials, and that the broker runs",
		});
	}
	const mappings = await withConnection(ctx, project.sourceId, async (source) => {
		const resolved = await resolveObjects(source, project.objects);
		// binlog format, row image and metadata, GTIDs, retention, replication privileges
		if (project.types.includes("incremental")) findings.push(...(await checkCaptureSettings(source)));
		if (project.types.includes("full") && (await serverFlavor(source)).flavor !== "mariadb") {
			findings.push({
				level: "warning",
				object: "source",
				message: "the snapshot holds a global read lock for the instant it opens (FLUSH TABLES WITH READ LOCK)",
				fix: "grant RELOAD to the source user; the lock lasts milliseconds",
			});
		}
		for (const m of resolved) {
			const { key } = await findCopyKey(source, m.source);
			if (!key) {
				findings.push({
					level: "warning",
					object: `${m.source.database}.${m.source.table}`,
					message: "has no primary key or NOT NULL unique key: its messages carry no key and are partitioned by table",
					fix: "add a primary key if consumers need per-row keys",
				});
			}
		}
		return resolved;
	});
	return { findings: applyWaivers(findings, project.waivedFindings ?? []), mappings };
}

/**
 * A synchronization project's precheck: the rules resolve on the source (tables, columns, row
 * filters), the source's binlog can be captured, the broker answers; tables without a key are
 * a warning (their messages have no key and go by table). Records one `TABLES#` item per table.
 */
export const syncPrecheck: Step = {
	name: "precheck",
	appliesTo: () => true,
	cannotSkip: async (_ctx, p) =>
		`it checks that the source can be read and the broker written; fix the findings, or accept single ones with 'ferry project waive ${p.id} <finding id>', then retry`,
	dryRun: async (ctx, project) => (await check(ctx, project)).findings,
	async run(ctx, project) {
		const { findings: checked, mappings } = await check(ctx, project);
		await updateProject(ctx, project.id, (p) => ({ ...p, findings: checked }));
		const errors = checked.filter((f) => f.level === "error");
		if (errors.length > 0) throw new Error(blockingMessage(project, errors));
		for (const [index, mapping] of mappings.entries()) {
			await createTable(ctx, project.id, { index, mapping, rowsEstimate: 0, planned: false, chunks: 0 });
		}
		return "done";
	},
};
