import { qualifiedName, quoteTable } from "../db/sql.ts";
import type { Engine } from "../model/datasource.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import { type BodyRenames, rewriteBody } from "./body-rewrite.ts";
import { convertCharset } from "./dialect/charsets.ts";
import { applyRules, type Conversion, type DialectContext, type Rule } from "./dialect/rules.ts";
import { type ReportEntry, record, refuse, reportEntry } from "./report.ts";
import type { ViewMapping } from "./resolve.ts";
import type { RoutineDatabase, RoutineSchema, RoutineSnapshot } from "./routines.ts";
import { type SchemaSnapshot, type ServerFlavor, tableKey } from "./snapshot.ts";
import { type Token, tokenize } from "./sqltext.ts";

/**
 * Plans the stored procedures, functions and events of the migrated databases, and reports the
 * triggers of the migrated tables. Each routine is created from the source's own SHOW CREATE
 * statement, under its own sql_mode and collation_connection (what its body means depends on
 * them), with three changes:
 *   - no DEFINER: the destination records the account Ferry creates it with, since the source's
 *     account need not exist there. Procedures and functions that ran with their definer's rights
 *     get SQL SECURITY INVOKER, as views do: with DEFINER they would run with Ferry's account's
 *     rights for every caller.
 *   - under the destination database and with the project's renames applied (see body-rewrite.ts).
 *   - events are created DISABLED: replay already brings what the source's event writes, so an
 *     event running at both ends would apply it twice. The switchover enables them.
 * Functions are created before views (a view that calls a function needs it to exist), events
 * last. Triggers are held back until switchover (see shared/switchover/triggers.ts); the report
 * says so, and with which definer they are created then.
 */

export interface PlannedRoutine {
	kind: "procedure" | "function" | "event";
	/** The source database and routine name (as `table`). */
	source: TableName;
	destination: TableName;
	sql: string;
	sqlMode: string;
	collationConnection: string;
	/** Events: the time zone of the schedule's times. */
	timeZone?: string;
}

export interface RoutinePlanInput {
	snapshot: RoutineSnapshot;
	ctx: DialectContext;
	/** Migrated tables and views by source (tableKey) and the tables whose columns are reshaped. */
	renames: BodyRenames;
	tables: TableMapping[];
	/** The account Ferry creates objects with at the destination, `user`@`host`. */
	destinationAccount?: string;
	/** The project switches over (held-back triggers are created and events enabled then), and reverse replay follows. */
	switchover: boolean;
	reverse: boolean;
}

export interface RoutinePlan {
	/** Procedures and functions. */
	routines: PlannedRoutine[];
	events: PlannedRoutine[];
	report: ReportEntry[];
	/** Source functions (functionKey) and where they go; null when they are not migrated. */
	functions: Map<string, TableName | null>;
}

/** Routine names are case-insensitive; database names are not. */
export const functionKey = (database: string, name: string) => tableKey({ database, table: name.toLowerCase() });

const label = (database: string, name: string) => `${database}.${name}`;

interface Subject {
	routine: RoutineSchema;
	aggregate: boolean;
}

const FAMILY: Record<ServerFlavor, Engine> = {
	mariadb: "mariadb",
	mysql: "mysql",
	tidb: "tidb",
	oceanbase: "oceanbase-mysql",
};
const mode = (s: Subject, name: string) => s.routine.sqlMode.toUpperCase().split(",").includes(name);

const ROUTINE_RULES: readonly Rule<Subject>[] = [
	{
		engines: ["tidb"],
		when: (s) => s.routine.kind !== "event",
		effect: { refuse: "TiDB has no stored procedures or functions" },
	},
	{ engines: ["tidb"], when: (s) => s.routine.kind === "event", effect: { refuse: "TiDB has no events" } },
	{
		engines: ["oceanbase-mysql"],
		below: "4.2.5",
		when: (s) => s.routine.kind === "event",
		effect: { refuse: "OceanBase (MySQL mode) has events from V4.2.5 on" },
	},
	{
		engines: ["mysql", "oceanbase-mysql"],
		when: (s) => s.aggregate,
		effect: { refuse: "stored aggregate functions (CREATE AGGREGATE FUNCTION) are MariaDB's own" },
	},
	{
		engines: ["mysql", "oceanbase-mysql"],
		when: (s) => mode(s, "ORACLE"),
		effect: { refuse: "it is written in MariaDB's Oracle mode (sql_mode ORACLE)" },
	},
	{
		engines: ["mysql", "mariadb", "oceanbase-mysql"],
		when: (_s, ctx) => FAMILY[ctx.source] !== ctx.destination.engine,
		effect: {
			warn: "its body is created as written: syntax or functions the destination lacks make the CREATE fail, naming the routine",
		},
	},
];

/** The CREATE statement split around the routine's name, e.g. `CREATE DEFINER=... FUNCTION` | `f` | `(a int) RETURNS ...`. */
function splitHeader(routine: RoutineSchema, create: string): { aggregate: boolean; tail: string } | null {
	const ansiQuotes = /\b(ANSI_QUOTES|ANSI|ORACLE)\b/i.test(routine.sqlMode);
	const tokens = tokenize(create);
	const words = (t: Token | undefined) => (t?.kind === "word" ? t.text.toUpperCase() : "");
	const keyword = tokens.findIndex((t) => ["PROCEDURE", "FUNCTION", "EVENT"].includes(words(t)));
	if (keyword === -1 || words(tokens.find((t) => t.kind !== "space")) !== "CREATE") return null;
	let n = keyword + 1;
	while (tokens[n]?.kind === "space") n += 1;
	const token = tokens[n];
	const name =
		token?.kind === "quoted"
			? token.name
			: ansiQuotes && token?.kind === "string" && token.text.startsWith('"')
				? token.text.slice(1, -1).replaceAll('""', '"')
				: undefined;
	if (name !== routine.name) return null;
	return {
		aggregate: tokens.slice(0, keyword).some((t) => words(t) === "AGGREGATE"),
		tail: tokens
			.slice(n + 1)
			.map((t) => t.text)
			.join(""),
	};
}

/**
 * Adds SQL SECURITY INVOKER to the characteristics. The server prints them one per line after the
 * parameter list (and RETURNS type), so the first line break after the list's closing
 * parenthesis is where they start; the last SQL SECURITY given wins.
 */
function withInvokerSecurity(tail: string): string | null {
	const tokens = tokenize(tail);
	let i = 0;
	while (tokens[i]?.kind === "space") i += 1;
	if (tokens[i]?.text !== "(") return null;
	for (let depth = 0; i < tokens.length; i += 1) {
		const t = tokens[i] as Token;
		if (t.kind !== "punct") continue;
		if (t.text === "(") depth += 1;
		if (t.text === ")" && --depth === 0) break;
	}
	for (let j = i + 1; j < tokens.length; j += 1) {
		const t = tokens[j] as Token;
		if (t.kind !== "space" || !t.text.includes("\n")) continue;
		const at = t.text.indexOf("\n") + 1;
		const before = tokens.slice(0, j).map((x) => x.text);
		const after = tokens.slice(j + 1).map((x) => x.text);
		return [...before, t.text.slice(0, at), "    SQL SECURITY INVOKER\n", t.text.slice(at), ...after].join("");
	}
	return null;
}

/** Replaces the event's status (`ON COMPLETION [NOT] PRESERVE ENABLE`) with DISABLE. */
function disabled(tail: string): string | null {
	const tokens = tokenize(tail);
	const word = (i: number) => (tokens[i]?.kind === "word" ? (tokens[i] as Token).text.toUpperCase() : "");
	const next = (i: number) => {
		let j = i + 1;
		while (tokens[j]?.kind === "space") j += 1;
		return j;
	};
	const preserve = tokens.findIndex((_, i) => word(i) === "PRESERVE");
	if (preserve === -1) return null;
	const status = next(preserve);
	let last = status;
	if (word(status) === "DISABLE" && word(next(status)) === "ON") last = next(next(status));
	else if (word(status) !== "ENABLE" && word(status) !== "DISABLE") return null;
	return [...tokens.slice(0, status).map((t) => t.text), "DISABLE", ...tokens.slice(last + 1).map((t) => t.text)].join(
		"",
	);
}

function definerChange(routine: RoutineSchema, account: string): Conversion {
	if (routine.kind === "event") {
		return {
			what: `DEFINER ${routine.definer} -> ${account}`,
			why: "the source's account need not exist at the destination, so the event belongs to the account Ferry creates it with, and runs with its rights: recreate it with DEFINER= once the account exists if that matters",
		};
	}
	if (routine.security === "INVOKER") {
		return {
			what: `DEFINER ${routine.definer} -> ${account}`,
			why: "the source's account need not exist at the destination; it runs with its caller's rights (SQL SECURITY INVOKER) as at the source",
		};
	}
	return {
		what: `DEFINER ${routine.definer} dropped, SQL SECURITY INVOKER`,
		why: `the source's account need not exist at the destination, and as ${account} it would give every caller that account's rights: it runs with its caller's rights, so grant callers what it reads and writes, or recreate it with DEFINER= and SQL SECURITY DEFINER once the account exists`,
	};
}

class RoutinePlanner {
	readonly plan: RoutinePlan = { routines: [], events: [], report: [], functions: new Map() };
	private readonly account: string;
	private readonly renames: BodyRenames;
	/** Destination names taken, per namespace (procedures, functions and events each have their own). */
	private readonly taken = new Map<string, string>();

	constructor(private readonly input: RoutinePlanInput) {
		this.account = input.destinationAccount ?? "the account Ferry connects to the destination with";
		const objects = new Map(input.renames.objects);
		for (const d of input.snapshot.databases) {
			if (d.destination === undefined) continue;
			for (const r of input.snapshot.routines) {
				if (r.database === d.source && r.kind !== "package") {
					objects.set(functionKey(r.database, r.name), { database: d.destination, table: r.name });
				}
			}
		}
		this.renames = { ...input.renames, objects };
	}

	planRoutine(routine: RoutineSchema): void {
		const database = this.input.snapshot.databases.find((d) => d.source === routine.database);
		const destination = { database: database?.destination ?? routine.database, table: routine.name };
		const entry = reportEntry(
			routine.kind,
			label(destination.database, routine.name),
			label(routine.database, routine.name),
		);
		this.plan.report.push(entry);
		if (routine.kind === "function") this.plan.functions.set(functionKey(routine.database, routine.name), null);
		const planned = this.convert(routine, database, destination, entry);
		if (!planned) return;
		if (routine.kind === "function") this.plan.functions.set(functionKey(routine.database, routine.name), destination);
		(routine.kind === "event" ? this.plan.events : this.plan.routines).push(planned);
	}

	private convert(
		routine: RoutineSchema,
		database: RoutineDatabase | undefined,
		destination: TableName,
		entry: ReportEntry,
	): PlannedRoutine | null {
		if (database?.destination === undefined) {
			refuse(entry, `not migrated: ${database?.why ?? "no rule includes its database"}`);
			return null;
		}
		if (routine.kind === "package") {
			refuse(entry, "MariaDB packages (sql_mode ORACLE) are not migrated: create it at the destination by hand");
			return null;
		}
		if (routine.create === null) {
			refuse(
				entry,
				routine.kind === "event"
					? "Ferry's source user may not read its definition: grant it EVENT on the database"
					: "Ferry's source user may not read its body: grant it SELECT on mysql.proc (MariaDB) or SHOW_ROUTINE (MySQL 8.0.20+)",
			);
			return null;
		}
		const header = splitHeader(routine, routine.create);
		if (!header) {
			refuse(entry, "Ferry cannot read its SHOW CREATE statement: create it at the destination by hand");
			return null;
		}
		const verdict = applyRules(ROUTINE_RULES, { routine, aggregate: header.aggregate }, this.input.ctx);
		record(entry, verdict.changes, verdict.warnings);
		if (verdict.refusal) {
			refuse(entry, verdict.refusal);
			return null;
		}
		const namespace = `${routine.kind}\u0000${destination.database}\u0000${routine.name.toLowerCase()}`;
		const other = this.taken.get(namespace);
		if (other !== undefined) {
			refuse(entry, `${other} goes to ${qualifiedName(destination)} too: give one of their databases another name`);
			return null;
		}
		this.taken.set(namespace, label(routine.database, routine.name));

		const body = rewriteBody(header.tail, routine.sqlMode, routine.database, this.renames);
		record(
			entry,
			body.rewritten.map((r) => ({ what: `renamed in the body: ${r}`, why: "the rules migrate it under that name" })),
			body.warnings,
		);
		let tail: string | null = body.sql;
		if (routine.kind === "event") tail = disabled(tail);
		else if (routine.security === "DEFINER") tail = withInvokerSecurity(tail);
		if (tail === null) {
			refuse(entry, "Ferry cannot read its SHOW CREATE statement: create it at the destination by hand");
			return null;
		}
		if (routine.definer !== this.account || routine.security === "DEFINER") {
			record(entry, [definerChange(routine, this.account)], []);
		}
		if (routine.kind === "event") record(entry, [this.eventChange(routine)], this.eventWarnings(routine));

		const collation = convertCharset(
			{ charset: routine.collationConnection.split("_")[0] as string, collation: routine.collationConnection },
			this.input.ctx,
		);
		record(
			entry,
			collation.changes.map((c) => ({ what: `collation_connection: ${c.what}`, why: c.why })),
			collation.warnings.map((w) => `collation_connection: ${w}`),
		);
		const keyword = `${header.aggregate ? "AGGREGATE " : ""}${routine.kind.toUpperCase()}`;
		return {
			kind: routine.kind,
			source: { database: routine.database, table: routine.name },
			destination,
			sql: `CREATE ${keyword} ${quoteTable(destination)}${tail}`,
			sqlMode: routine.sqlMode,
			collationConnection: collation.value.collation,
			...(routine.timeZone !== undefined ? { timeZone: routine.timeZone } : {}),
		};
	}

	private eventChange(event: RoutineSchema): Conversion {
		const why = "replay brings what the source's event writes, so an event running at both ends would apply it twice";
		if (event.status !== "ENABLED") {
			return {
				what: `created DISABLED, as it is at the source (${event.status})`,
				why: "it does not run there either",
			};
		}
		if (!this.input.switchover) {
			return {
				what: "created DISABLED (ENABLED at the source): enable it at the destination (ALTER EVENT ... ENABLE) when the application moves there, and disable it at the source",
				why: `${why}; this project has no switchover to do it`,
			};
		}
		return {
			what: `created DISABLED (ENABLED at the source); enabled at switchover${this.input.reverse ? ", when it is also disabled at the source" : ""}`,
			why,
		};
	}

	private eventWarnings(event: RoutineSchema): string[] {
		return event.timeZone === "SYSTEM"
			? [
					"its schedule's times are in the server's system time zone (time_zone SYSTEM): if the destination's differs, it runs at other times",
				]
			: [];
	}

	reportTrigger(trigger: RoutineSnapshot["triggers"][number]): void {
		const mapping = this.input.tables.find((m) => tableKey(m.source) === tableKey(trigger.table));
		const table = mapping?.destination ?? trigger.table;
		const entry = reportEntry(
			"trigger",
			`${qualifiedName(table)} trigger ${trigger.name}`,
			`${qualifiedName(trigger.table)} trigger ${trigger.name}`,
		);
		this.plan.report.push(entry);
		if (this.input.ctx.destination.engine === "tidb") {
			refuse(entry, "TiDB has no triggers");
			return;
		}
		if (!this.input.switchover) {
			refuse(
				entry,
				"not created: replay brings what the trigger writes, so Ferry creates triggers only at switchover, and this project has none: create it at the destination when the application moves there",
			);
			return;
		}
		// The same rewrite as createTriggers does at switchover, with the table mappings it has then.
		const body = rewriteBody(trigger.body, trigger.sqlMode, trigger.table.database, {
			objects: new Map(this.input.tables.map((m) => [tableKey(m.source), m.destination])),
			...(this.input.renames.reshaped ? { reshaped: this.input.renames.reshaped } : {}),
		});
		record(
			entry,
			[
				{
					what: "created at switchover",
					why: "replay brings what the source's trigger writes, so a trigger at the destination would apply it twice while replay runs",
				},
				// said even when it stays the same: a trigger runs with its definer's rights
				{
					what: `DEFINER ${trigger.definer} -> ${this.account} at switchover`,
					why: "the source's account need not exist at the destination, so the trigger belongs to the account Ferry creates it with, and runs with its rights",
				},
				...body.rewritten.map((r) => ({
					what: `renamed in the body: ${r}`,
					why: "the rules migrate it under that name",
				})),
			],
			body.warnings,
		);
	}
}

/** What routine bodies may name that the rules rename: the migrated tables and views, and the tables whose columns they reshape. */
export function bodyRenames(snapshot: SchemaSnapshot, tables: TableMapping[], views: ViewMapping[]): BodyRenames {
	const objects = new Map<string, TableName>();
	const reshaped = new Set<string>();
	const sources = new Map(snapshot.tables.map((t) => [tableKey(t.name), t]));
	for (const m of tables) {
		objects.set(tableKey(m.source), m.destination);
		const columns = sources.get(tableKey(m.source))?.columns.length;
		if (m.columns.some((c) => c.source !== c.destination) || (columns !== undefined && columns !== m.columns.length)) {
			reshaped.add(tableKey(m.source));
		}
	}
	for (const v of views) objects.set(tableKey(v.source), v.destination);
	return { objects, reshaped };
}

export function planRoutines(input: RoutinePlanInput): RoutinePlan {
	const planner = new RoutinePlanner(input);
	const order = { function: 0, procedure: 1, package: 2, event: 3 };
	const routines = [...input.snapshot.routines].sort((a, b) => order[a.kind] - order[b.kind]);
	for (const routine of routines) planner.planRoutine(routine);
	for (const trigger of input.snapshot.triggers) planner.reportTrigger(trigger);
	return planner.plan;
}
