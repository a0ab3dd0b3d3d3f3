import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import type { Engine } from "../model/datasource.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import { checkDefinition, columnDefinition, createTable, foreignKeyDefinition, indexDefinition } from "./ddl.ts";
import { convertCharset } from "./dialect/charsets.ts";
import { convertColumn } from "./dialect/columns.ts";
import { type Destination, type DialectContext, type DialectTraits, traits as traitsOf } from "./dialect/rules.ts";
import { convertCheck, convertForeignKey, convertIndex, convertTable } from "./dialect/tables.ts";
import { SchemaError, SchemaRuleError } from "./errors.ts";
import { type PlannedView, planViews } from "./plan-views.ts";
import { type ReportEntry, record, refuse, reportEntry } from "./report.ts";
import type { ViewMapping } from "./resolve.ts";
import { bodyRenames, type PlannedRoutine, planRoutines } from "./routine-plan.ts";
import type { RoutineSnapshot } from "./routines.ts";
import type { ColumnSchema, IndexSchema, SchemaSnapshot, TableSchema, ViewSchema } from "./snapshot.ts";
import { tableKey } from "./snapshot.ts";
import { backquote, quotedNames, renameQuoted } from "./sqltext.ts";

/**
 * Turns a source snapshot and the resolved mappings into destination DDL, in the order a
 * migration needs it:
 *   tables       CREATE TABLE with columns, primary and unique keys and CHECKs (before the copy)
 *   indexes      secondary and full-text indexes, added after the copy because building an index
 *                once over loaded rows is faster than maintaining it row by row
 *   foreignKeys  added once the data is complete, so the copy order between tables is free
 *   routines     stored procedures and functions (before the views that call them; routine-plan.ts)
 *   views        in dependency order
 *   events       last, created disabled until switchover
 * and a report with one entry per object: converted as is, changed (what and why) or refused (why).
 */

export type SchemaPhase = "tables" | "indexes" | "foreignKeys" | "routines" | "views" | "events";
export const SCHEMA_PHASES: readonly SchemaPhase[] = [
	"tables",
	"indexes",
	"foreignKeys",
	"routines",
	"views",
	"events",
];

export interface PlannedDatabase {
	name: string;
	sql: string;
}

export interface PlannedTable {
	table: TableName;
	source: TableName;
	sql: string;
	/** Destination columns and types, to recognise the table when a re-run finds it already there. */
	columns: { name: string; type: string }[];
}

export interface PlannedIndex {
	table: TableName;
	name: string;
	/** The ADD clause, so the indexes of one table can be added in one ALTER TABLE. */
	clause: string;
	/** InnoDB adds one FULLTEXT index per statement. */
	fulltext: boolean;
	sql: string;
}

export interface PlannedForeignKey {
	table: TableName;
	name: string;
	sql: string;
}

export type { ReportEntry, ReportStatus } from "./report.ts";

export interface SchemaPlan {
	destination: Destination;
	databases: PlannedDatabase[];
	tables: PlannedTable[];
	indexes: PlannedIndex[];
	foreignKeys: PlannedForeignKey[];
	views: PlannedView[];
	/** Stored procedures and functions. */
	routines: PlannedRoutine[];
	events: PlannedRoutine[];
	report: ReportEntry[];
}

export interface PlanOptions {
	/** Create secondary and full-text indexes after the copy (the `indexes` phase). Default true. */
	deferSecondaryIndexes?: boolean;
	/** The destination's product version, from describeServer; unknown means a current release. */
	destinationVersion?: string;
	/** Views to migrate, from resolveViews; their definitions must be in the snapshot. */
	views?: ViewMapping[];
	/** Routines, events and triggers, from readRoutines; none are planned or reported without. */
	routines?: RoutineSnapshot;
	/** The account Ferry creates objects with at the destination (`user`@`host`), for the report. */
	destinationAccount?: string;
	/** The project switches over (triggers are created and events enabled then), then replays in reverse. */
	switchover?: boolean;
	reverse?: boolean;
}

export function planSchema(
	snapshot: SchemaSnapshot,
	mappings: TableMapping[],
	destinationEngine: Engine,
	options: PlanOptions = {},
): SchemaPlan {
	const destination: Destination = {
		engine: destinationEngine,
		...(options.destinationVersion ? { version: options.destinationVersion } : {}),
	};
	const ctx: DialectContext = { source: snapshot.server.flavor, destination };
	const planner = new Planner(snapshot, mappings, options.views ?? [], ctx);
	const defer = options.deferSecondaryIndexes ?? true;
	planner.planDatabases();
	for (const m of mappings) planner.planTable(m, defer);
	for (const m of mappings) planner.planForeignKeys(m);
	const routines =
		options.routines &&
		planRoutines({
			snapshot: options.routines,
			ctx,
			renames: bodyRenames(snapshot, mappings, options.views ?? []),
			tables: mappings,
			...(options.destinationAccount ? { destinationAccount: options.destinationAccount } : {}),
			switchover: options.switchover ?? false,
			reverse: options.reverse ?? false,
		});
	planner.planViews(routines?.functions);
	if (routines) {
		planner.plan.routines = routines.routines;
		planner.plan.events = routines.events;
		planner.plan.report.push(...routines.report);
	}
	return planner.plan;
}

const label = (t: TableName) => qualifiedName(t);
const lower = (s: string) => s.toLowerCase();

class Planner {
	readonly plan: SchemaPlan;
	private readonly traits: DialectTraits;
	private readonly tables = new Map<string, TableSchema>();
	private readonly views = new Map<string, ViewSchema>();
	private readonly tableMappings = new Map<string, TableMapping>();
	private readonly viewMappings = new Map<string, ViewMapping>();
	/** Source keys of tables and views that are refused, so what depends on them is refused too. */
	private readonly refused = new Set<string>();
	/** CHECK names taken per destination database, for engines where they must be unique there. */
	private readonly checkNames = new Map<string, Set<string>>();

	constructor(
		private readonly snapshot: SchemaSnapshot,
		private readonly mappings: TableMapping[],
		viewMappings: ViewMapping[],
		private readonly ctx: DialectContext,
	) {
		this.plan = {
			destination: ctx.destination,
			databases: [],
			tables: [],
			indexes: [],
			foreignKeys: [],
			views: [],
			routines: [],
			events: [],
			report: [],
		};
		this.traits = traitsOf(ctx.destination.engine);
		for (const t of snapshot.tables) this.tables.set(tableKey(t.name), t);
		for (const v of snapshot.views) this.views.set(tableKey(v.name), v);
		for (const m of mappings) this.tableMappings.set(tableKey(m.source), m);
		for (const v of viewMappings) this.viewMappings.set(tableKey(v.source), v);
		this.assertDistinctDestinations();
	}

	private assertDistinctDestinations(): void {
		const taken = new Map<string, TableName>();
		for (const m of [...this.tableMappings.values(), ...this.viewMappings.values()]) {
			const other = taken.get(tableKey(m.destination));
			if (other) {
				throw new SchemaRuleError(
					label(m.destination),
					`both ${label(other)} and ${label(m.source)} would be migrated to it`,
					"give one of them another name with renameTable or renameDatabase, or exclude one",
				);
			}
			taken.set(tableKey(m.destination), m.source);
		}
	}

	private sourceTable(m: TableMapping): TableSchema {
		const table = this.tables.get(tableKey(m.source));
		if (!table) {
			throw new SchemaError(
				label(m.source),
				"is mapped but missing from the schema snapshot",
				"read the schema of the mapped tables again",
			);
		}
		return table;
	}

	private entry(kind: ReportEntry["kind"], object: string, source: string): ReportEntry {
		const e = reportEntry(kind, object, source);
		this.plan.report.push(e);
		return e;
	}

	planTable(m: TableMapping, deferSecondaryIndexes: boolean): void {
		const table = this.sourceTable(m);
		const columnMap = new Map(m.columns.map((c) => [lower(c.source), c.destination]));
		const rename = (name: string) => columnMap.get(lower(name));
		const report = this.entry("table", label(m.destination), label(m.source));
		const converted = convertTable(table, this.ctx);
		record(report, converted.changes, converted.warnings);

		const columns: ColumnSchema[] = [];
		const refusals: string[] = [];
		for (const source of table.columns) {
			const name = rename(source.name);
			if (name === undefined) continue;
			const renamed: ColumnSchema = {
				...source,
				name,
				generated: source.generated && {
					...source.generated,
					expression: renameQuoted(source.generated.expression, rename),
				},
				check: source.check && renameQuoted(source.check, rename),
				default:
					source.default.kind === "expression"
						? {
								kind: "expression",
								sql: renameQuoted(source.default.sql, rename),
							}
						: source.default,
			};
			const v = convertColumn(renamed, this.ctx);
			const prefix = `column ${backquote(name)}`;
			record(
				report,
				v.changes.map((c) => ({ what: `${prefix}: ${c.what}`, why: c.why })),
				v.warnings.map((w) => `${prefix}: ${w}`),
			);
			if (v.refusal) refusals.push(`${prefix} (${source.columnType}): ${v.refusal}`);
			columns.push(v.value);
		}
		if (refusals.length > 0) {
			refuse(report, refusals.join("; "));
			this.refused.add(tableKey(m.source));
			return;
		}

		const definitions = columns.map(columnDefinition);
		const autoIncrement = columns.find((c) => c.autoIncrement)?.name;
		let autoIncrementIndexed = false;
		for (const index of table.indexes) {
			const planned = this.planIndex(m, index, rename);
			if (!planned) continue;
			// InnoDB needs an AUTO_INCREMENT column to lead some index from the start.
			const leadsAutoIncrement = autoIncrement !== undefined && planned.parts[0]?.column === autoIncrement;
			const inCreate =
				!deferSecondaryIndexes ||
				index.kind === "primary" ||
				index.kind === "unique" ||
				(leadsAutoIncrement && !autoIncrementIndexed);
			if (leadsAutoIncrement && inCreate) autoIncrementIndexed = true;
			const clause = indexDefinition(planned, this.traits);
			if (inCreate) {
				definitions.push(clause);
			} else {
				this.plan.indexes.push({
					table: m.destination,
					name: planned.name,
					clause,
					fulltext: planned.kind === "fulltext",
					sql: `ALTER TABLE ${quoteTable(m.destination)} ADD ${clause}`,
				});
			}
		}
		for (const check of table.checks) {
			const clause = this.planCheck(m, check.name, check.clause, columnMap, rename);
			if (clause) definitions.push(clause);
		}
		const sql = createTable(m.destination, definitions, converted.value);
		this.plan.tables.push({
			table: m.destination,
			source: m.source,
			sql,
			columns: columns.map((c) => ({ name: c.name, type: c.columnType })),
		});
	}

	private planIndex(
		m: TableMapping,
		index: IndexSchema,
		rename: (n: string) => string | undefined,
	): IndexSchema | null {
		const name = index.kind === "primary" ? "primary key" : `index ${index.name}`;
		const report = this.entry("index", `${label(m.destination)} ${name}`, `${label(m.source)} ${name}`);
		const missing = index.parts
			.filter((p) => p.expression === undefined && rename(p.column) === undefined)
			.map((p) => p.column);
		if (missing.length > 0) {
			refuse(report, `it covers column(s) ${missing.join(", ")}, which the object rules leave out`);
			return null;
		}
		const renamed: IndexSchema = {
			...index,
			parts: index.parts.map((p) => ({
				...p,
				column: p.expression === undefined ? (rename(p.column) as string) : p.column,
				...(p.expression !== undefined ? { expression: renameQuoted(p.expression, rename) } : {}),
			})),
		};
		const v = convertIndex(renamed, this.ctx);
		record(report, v.changes, v.warnings);
		if (v.refusal) {
			refuse(report, v.refusal);
			return null;
		}
		return v.value;
	}

	private planCheck(
		m: TableMapping,
		name: string,
		sourceClause: string,
		columnMap: Map<string, string>,
		rename: (n: string) => string | undefined,
	): string | null {
		const report = this.entry("check", `${label(m.destination)} check ${name}`, `${label(m.source)} check ${name}`);
		const sourceColumns = new Set(this.sourceTable(m).columns.map((c) => lower(c.name)));
		const left = [...quotedNames(sourceClause)].filter((n) => sourceColumns.has(lower(n)) && !columnMap.has(lower(n)));
		if (left.length > 0) {
			refuse(report, `it reads column(s) ${left.join(", ")}, which the object rules leave out`);
			return null;
		}
		let destinationName = name;
		if (this.traits.checkNamesPerDatabase) {
			const taken = this.checkNames.get(m.destination.database) ?? new Set<string>();
			this.checkNames.set(m.destination.database, taken);
			if (taken.has(lower(destinationName))) {
				const base = `${m.destination.table}_${name}`.slice(0, 60);
				destinationName = base;
				for (let n = 2; taken.has(lower(destinationName)); n += 1) destinationName = `${base}_${n}`;
				report.changes.push({
					what: `renamed to ${destinationName}`,
					why: `${this.traits.label} needs CHECK constraint names to be unique in a database, and another table uses ${name}`,
				});
				report.status = "changed";
			}
			taken.add(lower(destinationName));
		}
		const v = convertCheck({ name: destinationName, clause: renameQuoted(sourceClause, rename) }, this.ctx);
		record(report, v.changes, v.warnings);
		return checkDefinition(v.value);
	}

	planForeignKeys(m: TableMapping): void {
		if (this.refused.has(tableKey(m.source))) return;
		const table = this.sourceTable(m);
		const columnMap = new Map(m.columns.map((c) => [lower(c.source), c.destination]));
		for (const fk of table.foreignKeys) {
			const report = this.entry(
				"foreignKey",
				`${label(m.destination)} foreign key ${fk.name}`,
				`${label(m.source)} foreign key ${fk.name}`,
			);
			const target = this.tableMappings.get(tableKey(fk.referenced));
			const targetColumns = new Map(target?.columns.map((c) => [lower(c.source), c.destination]));
			const actions = foreignKeyActions(fk);
			const missing = fk.columns.filter((c) => !columnMap.has(lower(c)));
			const missingTarget = fk.referencedColumns.filter((c) => !targetColumns.has(lower(c)));
			if (missing.length > 0) {
				refuse(report, `it covers column(s) ${missing.join(", ")}, which the object rules leave out`);
			} else if (!target) {
				refuse(
					report,
					`it references ${label(fk.referenced)}, which is not migrated: include that table in the object rules`,
				);
			} else if (this.refused.has(tableKey(fk.referenced))) {
				refuse(report, `it references ${label(fk.referenced)}, which is refused`);
			} else if (missingTarget.length > 0) {
				refuse(
					report,
					`it references column(s) ${missingTarget.join(", ")} of ${label(fk.referenced)}, which the object rules leave out`,
				);
			}
			if (report.status === "refused" && actions) {
				report.reason = `${report.reason}; with incremental migration the rows its ${actions} changes at the source do not reach the destination (the binlog does not carry them), so the destination keeps rows the source lost`;
			} else if (report.status !== "refused" && target) {
				const v = convertForeignKey(
					{
						...fk,
						columns: fk.columns.map((c) => columnMap.get(lower(c)) as string),
						referenced: target.destination,
						referencedColumns: fk.referencedColumns.map((c) => targetColumns.get(lower(c)) as string),
					},
					this.ctx,
				);
				record(report, v.changes, [
					...v.warnings,
					...(actions
						? [
								`${actions}: the source's binlog does not carry the rows this action changes; incremental replay redoes it at the destination (and reverse replay at the source)`,
							]
						: []),
				]);
				this.plan.foreignKeys.push({
					table: m.destination,
					name: fk.name,
					sql: `ALTER TABLE ${quoteTable(m.destination)} ADD ${foreignKeyDefinition(v.value)}`,
				});
			}
		}
	}

	planViews(functions = new Map<string, TableName | null>()): void {
		planViews(
			{
				tables: this.tables,
				views: this.views,
				mappings: this.mappings,
				tableMappings: this.tableMappings,
				viewMappings: this.viewMappings,
				refused: this.refused,
				functions,
			},
			this.plan,
		);
	}

	/** One CREATE DATABASE per destination database, with the character set of its (first) source database. */
	planDatabases(): void {
		const sources = new Map<string, string>();
		for (const m of [...this.tableMappings.values(), ...this.viewMappings.values()]) {
			if (!sources.has(m.destination.database)) sources.set(m.destination.database, m.source.database);
		}
		for (const [name, sourceName] of sources) {
			const source = this.snapshot.databases.find((d) => d.name === sourceName);
			if (!source) throw new SchemaError(sourceName, "is missing from the schema snapshot", "read the schema again");
			const report = this.entry("database", name, sourceName);
			const cs = convertCharset({ charset: source.charset, collation: source.collation }, this.ctx);
			record(report, cs.changes, cs.warnings);
			this.plan.databases.push({
				name,
				sql: `CREATE DATABASE IF NOT EXISTS ${quoteId(name)} CHARACTER SET ${cs.value.charset} COLLATE ${cs.value.collation}`,
			});
		}
	}
}

/** `ON DELETE CASCADE, ON UPDATE SET NULL`: the key's actions on its rows, or "" when it only restricts. */
function foreignKeyActions(fk: { onDelete: string; onUpdate: string }): string {
	const acts = (rule: string) => ["CASCADE", "SET NULL", "SET DEFAULT"].includes(rule.toUpperCase());
	return [
		...(acts(fk.onDelete) ? [`ON DELETE ${fk.onDelete.toUpperCase()}`] : []),
		...(acts(fk.onUpdate) ? [`ON UPDATE ${fk.onUpdate.toUpperCase()}`] : []),
	].join(", ");
}
