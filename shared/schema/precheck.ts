import type { Connection } from "../db/connect.ts";
import { qualifiedName } from "../db/sql.ts";
import { describeRows, existingObjects } from "./inspect.ts";
import type { ReportEntry, SchemaPlan } from "./plan.ts";
import { existingRoutines } from "./routine-apply.ts";
import type { SchemaSnapshot } from "./snapshot.ts";

/**
 * Schema prechecks, run before a project starts: what will fail (errors) and what will work
 * differently than the user may expect (warnings), each with what to do about it.
 */

export interface SchemaFinding {
	level: "error" | "warning";
	object: string;
	message: string;
	fix: string;
}

const REFUSED_FIX: Record<ReportEntry["kind"], string> = {
	database: "choose another destination",
	table:
		"leave the column out with the rule's columns, exclude the table, or migrate to a destination that can hold it",
	index: "recreate an equivalent index at the destination after the migration if queries need it",
	foreignKey: "include the referenced table, or recreate the constraint after the migration",
	check: "recreate the constraint after the migration if it still applies",
	view: "include what the view reads, or recreate the view after the migration",
	procedure: "create it at the destination by hand if it is still needed",
	function: "create it at the destination by hand if it is still needed (before views that call it)",
	event: "create it at the destination by hand, disabled until the application moves there",
	package: "create it at the destination by hand if it is still needed",
	trigger: "create it at the destination when the application moves there",
};

export async function checkSchemaPrerequisites(
	destination: Connection,
	snapshot: SchemaSnapshot,
	plan: SchemaPlan,
): Promise<SchemaFinding[]> {
	const findings: SchemaFinding[] = [];

	for (const entry of plan.report) {
		if (entry.status !== "refused") continue;
		findings.push({
			// A table the destination cannot hold would lose data: that stops the project.
			level: entry.kind === "table" ? "error" : "warning",
			object: entry.source,
			message: `cannot be created at the destination: ${entry.reason}`,
			fix: REFUSED_FIX[entry.kind],
		});
	}

	const planned = new Set(plan.tables.map((t) => qualifiedName(t.source)));
	for (const table of snapshot.tables) {
		if (!planned.has(qualifiedName(table.name)) || table.indexes.some((i) => i.kind === "primary")) continue;
		findings.push({
			level: "warning",
			object: qualifiedName(table.name),
			message:
				"has no primary key: it is copied as one chunk, verified as a multiset of rows, and incremental replay needs the full row image (binlog_row_image=FULL) to find the rows it changes",
			fix: "add a primary key at the source before migrating if the table is large or busy",
		});
	}

	const databases = new Set([...plan.tables.map((t) => t.table.database), ...plan.views.map((v) => v.view.database)]);
	for (const database of databases) {
		const objects = await existingObjects(destination, database);
		for (const t of plan.tables.filter((p) => p.table.database === database)) {
			const type = objects.get(t.table.table);
			const object = qualifiedName(t.table);
			if (type === undefined) continue;
			if (type !== "BASE TABLE") {
				findings.push({
					level: "error",
					object,
					message: `the destination already has a ${type.toLowerCase()} of this name`,
					fix: "drop it, or rename the table with a rule",
				});
				continue;
			}
			const rows = await describeRows(destination, t.table);
			findings.push(
				rows === null
					? {
							level: "warning",
							object,
							message:
								"the destination table already exists and is empty: it is reused if its columns match, otherwise the schema migration stops",
							fix: "drop it if it is not meant for this migration",
						}
					: {
							level: "error",
							object,
							message: `destination table ${object} already has ${rows}`,
							fix: "empty it, exclude it or rename it",
						},
			);
		}
		for (const v of plan.views.filter((p) => p.view.database === database)) {
			const type = objects.get(v.view.table);
			if (type === "BASE TABLE") {
				findings.push({
					level: "error",
					object: qualifiedName(v.view),
					message: "the destination has a table where the view is to go",
					fix: "drop or rename that table, or rename the view with a rule",
				});
			} else if (type === "VIEW") {
				findings.push({
					level: "warning",
					object: qualifiedName(v.view),
					message: "the destination already has a view of this name: it is replaced",
					fix: "rename the view with a rule to keep the existing one",
				});
			}
		}
	}
	findings.push(...(await checkRoutines(destination, plan)));
	return findings;
}

/** Routines and events the destination has already (kept as they are), and a destination that would not run events. */
async function checkRoutines(destination: Connection, plan: SchemaPlan): Promise<SchemaFinding[]> {
	const findings: SchemaFinding[] = [];
	const existing = new Map<string, Set<string>>();
	for (const r of [...plan.routines, ...plan.events]) {
		const key = `${r.kind}\u0000${r.destination.database}`;
		const names = existing.get(key) ?? (await existingRoutines(destination, r.destination.database, r.kind));
		existing.set(key, names);
		if (!names.has(r.destination.table.toLowerCase())) continue;
		findings.push({
			level: "warning",
			object: `${r.kind} ${qualifiedName(r.destination)}`,
			message: `the destination already has a ${r.kind} of this name: it is kept as it is, not replaced by the source's`,
			fix: `drop it at the destination to have the source's ${r.kind} migrated`,
		});
	}
	if (plan.events.length > 0) {
		const [rows] = await destination.query("SELECT @@GLOBAL.event_scheduler AS scheduler");
		const scheduler = String((rows as { scheduler: string }[])[0]?.scheduler ?? "");
		if (scheduler.toUpperCase() !== "ON") {
			findings.push({
				level: "warning",
				object: "destination event_scheduler",
				message: `is ${scheduler}: the migrated events will not run there even once enabled`,
				fix: "turn it on at the destination (SET GLOBAL event_scheduler = ON, and in its configuration) before the application moves there",
			});
		}
	}
	return findings;
}
