import { describeTable, escapeValue, quoteId, quoteTable } from "../db/sql.ts";
import type { ColumnMapping, TableMapping, TableName, TableRule } from "../model/rules.ts";
import { convertCharset, convertTable } from "../schema/dialect.ts";
import { type IndexKind, isCurrentTimestamp, tableKey } from "../schema/snapshot.ts";
import {
	atConstraint,
	type ColumnContext,
	indexOptions,
	keyParts,
	type ParsedColumn,
	type ParsedConstraint,
	parseColumn,
	parseConstraint,
	renameInExpression,
	renderColumn,
	renderConstraint,
	unquote,
	visibilityKeyword,
} from "./ddl-column.ts";
import { type Cursor, DdlSyntaxError, isKeyword, type Tok } from "./ddl-parse.ts";
import {
	describeRule,
	filterReads,
	firstClash,
	includingRule,
	lower,
	mapTable,
	namesColumn,
	type RuleMatch,
	renamedColumn,
	selects,
} from "./ddl-rules.ts";
import type { ColumnChange, Work } from "./ddl-state.ts";
import { type DdlForm, SUPPORTED_DDL } from "./ddl-support.ts";

/**
 * Table statements: CREATE TABLE (and LIKE), DROP, RENAME, TRUNCATE, ALTER TABLE, CREATE and
 * DROP INDEX. Each reads the statement, decides with the mappings and rules, and adds
 * destination statements and mapping effects to the Work, or throws a refusal.
 */

const label = describeTable;

function columnOf(m: TableMapping, source: string): ColumnMapping | undefined {
	return m.columns.find((c) => lower(c.source) === lower(source));
}

function columnContext(w: Work, m: TableMapping): ColumnContext {
	return {
		dialect: w.dialect,
		names: (source) => columnOf(m, source)?.destination,
		referenced: (t) => (tableKey(t) === tableKey(m.source) ? m : w.mappings.get(t)),
	};
}

/** The rule that made a mapping, or one that describes it exactly when the rules no longer match it. */
function ruleOf(w: Work, m: TableMapping): RuleMatch {
	return (
		includingRule(w.ctx.rules, m.source) ?? {
			index: -1,
			rule: {
				database: m.source.database,
				table: m.source.table,
				exclude: false,
				columns: m.columns.map((c) => c.source),
				renameColumns: Object.fromEntries(m.columns.map((c) => [c.source, c.destination])),
				...(m.where ? { where: m.where } : {}),
			} as TableRule,
		}
	);
}

// ---------------------------------------------------------------- table options

interface TableOptions {
	engine?: string;
	charset?: string;
	collation?: string;
	comment?: string;
	autoIncrement?: string;
	generic: { name: string; value: string }[];
	dropped: string[];
	versioning: boolean;
	partitioned: boolean;
}

const OPTION_STOP = ["PARTITION", "AS", "SELECT", "IGNORE", "REPLACE", "START", "WITH", "TABLE", "VALUES"];

function optionValue(c: Cursor): string {
	if (c.isPunct("(")) return `(${c.text(c.group())})`;
	const t = c.next();
	if (t.kind === "string") return t.text;
	if (t.kind === "quoted") return t.name as string;
	return t.text;
}

/** A character set or collation name, written bare, quoted or as a string. */
function nameValue(c: Cursor): string {
	const t = c.next();
	if (t.kind === "string") return unquote(t.text).toLowerCase();
	if (t.kind === "quoted") return (t.name as string).toLowerCase();
	if (t.kind === "word") return t.text.toLowerCase();
	throw new DdlSyntaxError(`expected a character set or collation name ${c.where()}`);
}

/** Table options up to the end, a partition clause or a SELECT. */
function parseTableOptions(c: Cursor): TableOptions {
	const o: TableOptions = { generic: [], dropped: [], versioning: false, partitioned: false };
	while (!c.done()) {
		if (c.acceptPunct(",")) continue;
		if (c.accept("WITH", "SYSTEM", "VERSIONING")) {
			o.versioning = true;
			continue;
		}
		if (c.isPunct("(") || OPTION_STOP.some((w) => c.at(w))) break;
		const from = c.i;
		c.accept("DEFAULT");
		if (c.accept("CHARACTER", "SET") || c.accept("CHARSET")) {
			c.acceptEquals();
			o.charset = nameValue(c);
			if (o.charset === "utf8") o.charset = "utf8mb3";
		} else if (c.accept("COLLATE")) {
			c.acceptEquals();
			o.collation = nameValue(c);
		} else if (c.i > from) {
			throw new DdlSyntaxError(`unknown table option ${c.where()}`);
		} else if (c.acceptOneOf("ENGINE", "TYPE")) {
			c.acceptEquals();
			o.engine = optionValue(c);
		} else if (c.accept("COMMENT")) {
			c.acceptEquals();
			const t = c.next();
			if (t.kind !== "string") throw new DdlSyntaxError("expected the table comment as a string");
			o.comment = unquote(t.text);
		} else if (c.accept("AUTO_INCREMENT")) {
			c.acceptEquals();
			o.autoIncrement = c.next().text;
		} else if (c.accept("DATA", "DIRECTORY") || c.accept("INDEX", "DIRECTORY") || c.accept("UNION")) {
			c.acceptEquals();
			optionValue(c);
			o.dropped.push(c.text([from, c.i]));
		} else if (c.accept("TABLESPACE")) {
			optionValue(c);
			if (c.accept("STORAGE")) optionValue(c);
			o.dropped.push(c.text([from, c.i]));
		} else if (c.peek()?.kind === "word") {
			const name = c.next().text.toLowerCase();
			c.acceptEquals();
			o.generic.push({ name, value: optionValue(c) });
		} else {
			throw new DdlSyntaxError(`unknown table option ${c.where()}`);
		}
	}
	return o;
}

/** The options for the destination, converted by the dialect's table rules. */
function renderTableOptions(w: Work, o: TableOptions, name: TableName): string {
	const verdict = convertTable(
		{
			name,
			engine: o.engine ?? null,
			// The rules run on the default character set too; a neutral one stands in when none is written.
			charset: "binary",
			collation: "binary",
			comment: "",
			autoIncrement: null,
			options: o.generic,
			partitioned: o.partitioned,
			columns: [],
			indexes: [],
			foreignKeys: [],
			checks: [],
		},
		w.dialect,
	);
	w.changes.push(...verdict.changes.map((c) => `${label(name)}: ${c.what} (${c.why})`));
	w.warnings.push(...verdict.warnings.map((x) => `${label(name)}: ${x}`));
	for (const d of o.dropped) {
		w.changes.push(
			`${label(name)}: ${d} dropped (storage paths and MERGE unions of the source do not apply at the destination)`,
		);
	}
	const parts: string[] = [];
	const v = verdict.value;
	if (v.engine !== null) parts.push(`ENGINE=${v.engine}`);
	if (o.charset !== undefined || o.collation !== undefined) {
		const charset =
			o.charset ?? ((o.collation as string) === "binary" ? "binary" : (o.collation as string).split("_")[0]);
		const collation = o.collation ?? "";
		const cs = convertCharset(
			{ charset: charset as string, collation: collation || `${charset}_general_ci` },
			w.dialect,
		);
		w.changes.push(...cs.changes.map((c) => `${label(name)}: default ${c.what} (${c.why})`));
		w.warnings.push(...cs.warnings);
		parts.push(`DEFAULT CHARSET=${cs.value.charset}`);
		if (collation !== "" || cs.changes.length > 0) parts.push(`COLLATE=${cs.value.collation}`);
	}
	if (o.autoIncrement !== undefined) parts.push(`AUTO_INCREMENT=${o.autoIncrement}`);
	for (const x of v.options) parts.push(`${x.name.toUpperCase()}=${x.value}`);
	if (o.comment !== undefined) parts.push(`COMMENT=${escapeValue(o.comment)}`);
	return parts.join(" ");
}

// ---------------------------------------------------------------- CREATE TABLE

export function createTable(w: Work, c: Cursor, flags: { orReplace: boolean; temporary: boolean }): void {
	const form: DdlForm = flags.orReplace ? "CREATE OR REPLACE TABLE" : "CREATE TABLE";
	const ifNotExists = c.accept("IF", "NOT", "EXISTS");
	const name = c.tableName(w.db);
	if (flags.temporary)
		w.ignore("CREATE TEMPORARY TABLE", `CREATE TEMPORARY TABLE ${label(name)}: ${noteOf("CREATE TEMPORARY TABLE")}`);
	const like = c.accept("LIKE") || (c.isPunct("(") && isKeyword(c.peek(1), "LIKE"));
	if (like) {
		createTableLike(w, c, name, flags.orReplace);
		return;
	}
	w.form(form);
	const match = includingRule(w.ctx.rules, name);
	if (!match) w.ignore(form, `${form} ${label(name)}: no rule includes the table, so it is not migrated`);
	const existing = w.mappings.get(name);
	if (existing && ifNotExists && !flags.orReplace) {
		w.ignore(
			form,
			`CREATE TABLE IF NOT EXISTS ${label(name)}: the table exists and is migrated already, so the source did nothing`,
		);
	}
	if (!c.isPunct("(") || isKeyword(c.peek(1), "SELECT") || isKeyword(c.peek(1), "WITH")) {
		w.refuse("CREATE TABLE ... SELECT", `CREATE TABLE ${label(name)} ... SELECT: ${noteOf("CREATE TABLE ... SELECT")}`);
	}
	const body = c.sub(c.group());
	const options = parseTableOptions(c);
	if (c.accept("PARTITION", "BY") || c.at("PARTITION")) {
		options.partitioned = true;
		c.skipUntil((t) => isKeyword(t, "AS", "SELECT", "IGNORE", "REPLACE", "START"));
	}
	if (c.accept("START", "TRANSACTION")) {
		// MySQL 8 logs CREATE TABLE ... SELECT this way in row format: the rows follow as row events.
	} else if (!c.done() && !c.isPunct("(") && !OPTION_STOP.some((x) => c.at(x))) {
		throw new DdlSyntaxError(`unexpected text after the table definition ${c.where()}`);
	} else if (!c.done()) {
		w.refuse("CREATE TABLE ... SELECT", `CREATE TABLE ${label(name)} ... SELECT: ${noteOf("CREATE TABLE ... SELECT")}`);
	}
	if (options.versioning) {
		w.refuse(
			"ALTER TABLE ... SYSTEM VERSIONING",
			`CREATE TABLE ${label(name)} WITH SYSTEM VERSIONING: ${noteOf("ALTER TABLE ... SYSTEM VERSIONING")}`,
		);
	}

	const columns: ParsedColumn[] = [];
	const constraints: ParsedConstraint[] = [];
	for (const range of body.splitCommas()) {
		const part = body.sub(range);
		if (atConstraint(part)) constraints.push(parseConstraint(part, name.database));
		else columns.push(parseColumn(part, name.database));
	}
	const primary = new Set<string>();
	for (const k of constraints) {
		if (k.kind === "primary") for (const p of k.parts) if (p.column) primary.add(lower(p.column));
	}
	const mapped = mapTable(
		name,
		match,
		columns.map((col) => ({
			name: col.name,
			primary: col.inlineKey === "primary" || primary.has(lower(col.name)),
			reads: col.reads,
		})),
	);
	if ("refusal" in mapped) w.refuse(form, `${form} ${label(name)}: ${mapped.refusal}`);
	const mapping = mapped.mapping;
	const taken = w.mappings.destinationTakenBy(mapping.destination, name);
	if (taken) {
		w.refuse(
			form,
			`${form} ${label(name)}: ${label(taken)} is migrated to ${label(mapping.destination)} already: give one of them another name with the rules`,
		);
	}
	const ctx = columnContext(w, mapping);
	const definitions: string[] = [];
	for (const col of columns) {
		const dest = ctx.names(col.name);
		if (dest === undefined) continue;
		const r = renderColumn(col, dest, ctx);
		if (r.refusal) w.refuse(form, `${form} ${label(name)}: column ${col.name} (${col.typeText}): ${r.refusal}`);
		w.changes.push(...r.changes.map((x) => `${label(name)}.${col.name}: ${x}`));
		w.warnings.push(...r.warnings.map((x) => `${label(name)}.${col.name}: ${x}`));
		definitions.push(r.sql);
	}
	for (const k of constraints) {
		const r = renderConstraint(k, ctx, false);
		if (r.refusal) w.refuse(form, `${form} ${label(name)}: ${r.refusal}`);
		if (r.skipped) w.warnings.push(`${label(name)}: ${r.skipped}`);
		w.changes.push(...r.changes.map((x) => `${label(name)}: ${x}`));
		w.warnings.push(...r.warnings.map((x) => `${label(name)}: ${x}`));
		if (r.sql) definitions.push(r.sql);
	}
	const tableOptions = renderTableOptions(w, options, name);
	const destination = quoteTable(mapping.destination);
	if (flags.orReplace) w.statements.push(`DROP TABLE IF EXISTS ${destination}`);
	w.statements.push(
		`CREATE TABLE IF NOT EXISTS ${destination} (\n  ${definitions.join(",\n  ")}\n)${tableOptions ? ` ${tableOptions}` : ""}`,
	);
	w.mappings.set(mapping);
	w.effects.push({ kind: "table-created", mapping });
}

function createTableLike(w: Work, c: Cursor, name: TableName, orReplace: boolean): void {
	const form: DdlForm = "CREATE TABLE ... LIKE";
	w.form(form);
	const parenthesised = c.acceptPunct("(");
	if (parenthesised) c.expect("LIKE");
	const original = c.tableName(w.db);
	if (parenthesised) c.expectPunct(")");
	if (!c.done()) throw new DdlSyntaxError(`unexpected text after LIKE ${c.where()}`);
	const subject = `CREATE TABLE ${label(name)} LIKE ${label(original)}`;
	const match = includingRule(w.ctx.rules, name);
	if (!match) w.ignore(form, `${subject}: no rule includes ${label(name)}, so it is not migrated`);
	const old = w.mappings.get(original);
	if (!old) {
		w.refuse(
			form,
			`${subject}: ${label(original)} is not migrated, so the destination has no table to copy the definition from: create ${label(name)} at the destination by hand and skip the statement`,
		);
	}
	const moved = carryMapping(w, old, name, match);
	if ("refusal" in moved)
		w.refuse(form, `${subject}: ${moved.refusal}; create the table at the destination by hand and skip the statement`);
	const mapping: TableMapping = { ...moved.mapping };
	const taken = w.mappings.destinationTakenBy(mapping.destination, name);
	if (taken) w.refuse(form, `${subject}: ${label(taken)} is migrated to ${label(mapping.destination)} already`);
	if (orReplace) w.statements.push(`DROP TABLE IF EXISTS ${quoteTable(mapping.destination)}`);
	w.statements.push(
		`CREATE TABLE IF NOT EXISTS ${quoteTable(mapping.destination)} LIKE ${quoteTable(old.destination)}`,
	);
	w.mappings.set(mapping);
	w.effects.push({ kind: "table-created", mapping });
}

/**
 * The mapping a table with `old`'s columns gets under the name `to` and its rule: allowed only
 * when the destination table can stay as it is, i.e. the rule selects, renames (and, with
 * `sameFilter`, filters) the columns as before.
 */
function carryMapping(
	w: Work,
	old: TableMapping,
	to: TableName,
	match: RuleMatch,
	sameFilter = false,
): { mapping: TableMapping } | { refusal: string } {
	const before = ruleOf(w, old);
	if (match.rule.columns === undefined && before.rule.columns !== undefined) {
		return {
			refusal: `${describeRule(match)} migrates every column of ${label(to)}, but ${label(old.source)} was migrated with the column selection of ${describeRule(before)}, so the destination lacks the other columns`,
		};
	}
	const mapped = mapTable(
		to,
		match,
		old.columns.map((c) => ({ name: c.source, primary: false, reads: [] })),
	);
	if ("refusal" in mapped) return mapped;
	const same = (a: ColumnMapping[], b: ColumnMapping[]) =>
		a.length === b.length && a.every((x, i) => x.source === b[i]?.source && x.destination === b[i]?.destination);
	if (!same(mapped.mapping.columns, old.columns)) {
		return {
			refusal: `${describeRule(match)} selects or renames the columns of ${label(to)} differently from how ${label(old.source)} was migrated (${describeRule(before)})`,
		};
	}
	if (sameFilter && (mapped.mapping.where ?? "") !== (old.where ?? "")) {
		return {
			refusal: `${describeRule(match)} filters the rows of ${label(to)} differently from ${describeRule(before)} for ${label(old.source)}, so the rows at the destination would not match the filter`,
		};
	}
	return mapped;
}

// ---------------------------------------------------------------- DROP, TRUNCATE, RENAME

export function dropTable(w: Work, c: Cursor, temporary: boolean): void {
	const form: DdlForm = temporary ? "DROP TEMPORARY TABLE" : "DROP TABLE";
	w.form(form);
	c.accept("IF", "EXISTS");
	const names: TableName[] = [];
	do names.push(c.tableName(w.db));
	while (c.acceptPunct(","));
	if (temporary) w.ignore(form, `DROP TEMPORARY TABLE ${names.map(label).join(", ")}: ${noteOf(form)}`);
	c.acceptOneOf("RESTRICT", "CASCADE", "FORCE", "NOWAIT");
	if (c.accept("WAIT")) c.next();
	const dropped: TableMapping[] = [];
	for (const n of names) {
		const m = w.mappings.get(n);
		if (!m) continue;
		dropped.push(m);
		w.mappings.delete(n);
		w.effects.push({ kind: "table-dropped", source: n });
	}
	if (dropped.length === 0) w.ignore(form, `DROP TABLE ${names.map(label).join(", ")}: none of the tables is migrated`);
	w.statements.push(`DROP TABLE IF EXISTS ${dropped.map((m) => quoteTable(m.destination)).join(", ")}`);
}

export function truncateTable(w: Work, c: Cursor): void {
	w.form("TRUNCATE TABLE");
	c.accept("TABLE");
	const name = c.tableName(w.db);
	const m = w.mappings.get(name);
	if (!m) w.ignore("TRUNCATE TABLE", `TRUNCATE TABLE ${label(name)}: the table is not migrated`);
	w.statements.push(`TRUNCATE TABLE ${quoteTable(m.destination)}`);
}

/**
 * Moves a table's mapping to a new name. Returns the destination names to rename between, null
 * when neither name is migrated; refuses what would leave the destination out of step.
 */
function renameOne(w: Work, form: DdlForm, from: TableName, to: TableName): [TableName, TableName] | null {
	const subject =
		form === "RENAME TABLE"
			? `RENAME TABLE ${label(from)} TO ${label(to)}`
			: `ALTER TABLE ${label(from)} RENAME TO ${label(to)}`;
	const old = w.mappings.get(from);
	const match = includingRule(w.ctx.rules, to);
	if (!old) {
		if (!match) return null;
		w.refuse(
			form,
			`${subject}: it moves a table into the migration (${describeRule(match)} includes ${label(to)}, but ${label(from)} is not migrated, so its rows were never copied): copy the table to the destination by hand (or change the rules) and skip the statement`,
		);
	}
	if (!match) {
		w.refuse(
			form,
			`${subject}: it moves a migrated table out of the migration (no rule includes ${label(to)}): add a rule for the new name, or drop the destination table ${label(old.destination)} by hand, and skip the statement`,
		);
	}
	const moved = carryMapping(w, old, to, match, true);
	if ("refusal" in moved) w.refuse(form, `${subject}: ${moved.refusal}`);
	const mapping = moved.mapping;
	const taken = w.mappings.destinationTakenBy(mapping.destination, from);
	if (taken) w.refuse(form, `${subject}: ${label(taken)} is migrated to ${label(mapping.destination)} already`);
	w.mappings.delete(from);
	w.mappings.set(mapping);
	w.effects.push({ kind: "table-renamed", from, mapping });
	return [old.destination, mapping.destination];
}

export function renameTable(w: Work, c: Cursor): void {
	const form: DdlForm = "RENAME TABLE";
	w.form(form);
	c.accept("IF", "EXISTS");
	const pairs: [TableName, TableName][] = [];
	do {
		const from = c.tableName(w.db);
		if (c.accept("NOWAIT")) {
		} else if (c.accept("WAIT")) c.next();
		c.expect("TO");
		const to = c.tableName(w.db);
		pairs.push([from, to]);
	} while (c.acceptPunct(","));
	const renames: [TableName, TableName][] = [];
	for (const [from, to] of pairs) {
		const r = renameOne(w, form, from, to);
		if (r && tableKey(r[0]) !== tableKey(r[1])) renames.push(r);
	}
	if (w.effects.length === 0) {
		w.ignore(
			form,
			`RENAME TABLE ${pairs.map(([a, b]) => `${label(a)} TO ${label(b)}`).join(", ")}: none of the tables is migrated`,
		);
	}
	if (renames.length > 0) {
		// run twice, `RENAME TABLE a TO t, b TO a, t TO b` would swap the tables back
		w.alter(
			renames.flat(),
			`RENAME TABLE ${renames.map(([a, b]) => `${quoteTable(a)} TO ${quoteTable(b)}`).join(", ")}`,
		);
	}
}

// ---------------------------------------------------------------- ALTER TABLE

type Spec =
	| { op: "addColumn"; columns: ParsedColumn[]; ifNotExists: boolean }
	| { op: "addConstraint"; def: ParsedConstraint }
	| { op: "dropColumn"; name: string; ifExists: boolean }
	| { op: "modifyColumn"; column: ParsedColumn; ifExists: boolean }
	| { op: "changeColumn"; from: string; column: ParsedColumn; ifExists: boolean }
	| { op: "renameColumn"; from: string; to: string }
	| { op: "alterColumn"; name: string; action: Tok[] }
	| { op: "dropIndex"; name: string }
	| { op: "dropPrimary" }
	| { op: "dropForeign"; name: string }
	| { op: "dropConstraint"; name: string }
	| { op: "renameIndex"; from: string; to: string }
	| { op: "alterIndex"; name: string; visibility: "IGNORED" | "INVISIBLE" | "VISIBLE" | "NOT IGNORED" }
	| { op: "options"; options: TableOptions }
	| { op: "convert"; charset: string; collation?: string }
	| { op: "rename"; to: TableName }
	| { op: "noop"; what: string }
	| { op: "alterCheck"; what: string }
	| { op: "refuse"; form: DdlForm; what: string };

const PARTITION_OPS = [
	"ADD",
	"DROP",
	"DISCARD",
	"IMPORT",
	"TRUNCATE",
	"COALESCE",
	"REORGANIZE",
	"EXCHANGE",
	"ANALYZE",
	"CHECK",
	"OPTIMIZE",
	"REBUILD",
	"REPAIR",
	"CONVERT",
];

function parseSpec(c: Cursor, db: string): Spec {
	const text = () => {
		c.i = c.end;
		return c.text([c.start, c.end]);
	};
	const partition = (): Spec => ({ op: "refuse", form: "ALTER TABLE ... partitioning", what: text() });
	const ie = () => c.accept("IF", "EXISTS");
	if (PARTITION_OPS.some((op) => c.at(op, "PARTITION"))) return partition();
	if (c.at("PARTITION", "BY") || c.at("REMOVE", "PARTITIONING") || c.at("CONVERT", "TABLE")) return partition();
	if (c.at("DISCARD", "TABLESPACE") || c.at("IMPORT", "TABLESPACE")) {
		return { op: "refuse", form: "ALTER TABLE ... TABLESPACE", what: text() };
	}
	if (c.at("ADD", "SYSTEM") || c.at("DROP", "SYSTEM") || c.at("ADD", "PERIOD") || c.at("DROP", "PERIOD")) {
		return { op: "refuse", form: "ALTER TABLE ... SYSTEM VERSIONING", what: text() };
	}
	if (c.accept("ADD")) {
		const column = c.accept("COLUMN");
		if (!column && atConstraint(c)) return { op: "addConstraint", def: parseConstraint(c, db) };
		const ifNotExists = c.accept("IF", "NOT", "EXISTS");
		if (c.isPunct("(")) {
			const inner = c.sub(c.group());
			const columns = inner.splitCommas().map((r) => parseColumn(inner.sub(r), db));
			return { op: "addColumn", columns, ifNotExists };
		}
		return { op: "addColumn", columns: [parseColumn(c, db)], ifNotExists };
	}
	if (c.accept("DROP")) {
		if (c.accept("PRIMARY", "KEY")) return { op: "dropPrimary" };
		if (c.acceptOneOf("INDEX", "KEY")) {
			ie();
			return { op: "dropIndex", name: c.identifier("an index name") };
		}
		if (c.accept("FOREIGN", "KEY")) {
			ie();
			return { op: "dropForeign", name: c.identifier("a foreign key name") };
		}
		if (c.acceptOneOf("CONSTRAINT", "CHECK")) {
			ie();
			return { op: "dropConstraint", name: c.identifier("a constraint name") };
		}
		c.accept("COLUMN");
		const ifExists = ie();
		const name = c.identifier("a column name");
		c.acceptOneOf("RESTRICT", "CASCADE");
		return { op: "dropColumn", name, ifExists };
	}
	if (c.accept("MODIFY")) {
		c.accept("COLUMN");
		const ifExists = ie();
		return { op: "modifyColumn", column: parseColumn(c, db), ifExists };
	}
	if (c.accept("CHANGE")) {
		c.accept("COLUMN");
		const ifExists = ie();
		const from = c.identifier("a column name");
		return { op: "changeColumn", from, column: parseColumn(c, db), ifExists };
	}
	if (c.accept("RENAME")) {
		if (c.accept("COLUMN")) {
			const from = c.identifier("a column name");
			c.expect("TO");
			return { op: "renameColumn", from, to: c.identifier("a column name") };
		}
		if (c.acceptOneOf("INDEX", "KEY")) {
			const from = c.identifier("an index name");
			c.expect("TO");
			return { op: "renameIndex", from, to: c.identifier("an index name") };
		}
		c.acceptOneOf("TO", "AS");
		return { op: "rename", to: c.tableName(db) };
	}
	if (c.accept("ALTER")) {
		if (c.acceptOneOf("INDEX", "KEY")) {
			const name = c.identifier("an index name");
			const v = c.accept("NOT", "IGNORED") ? "NOT IGNORED" : c.acceptOneOf("IGNORED", "INVISIBLE", "VISIBLE");
			if (!v) throw new DdlSyntaxError(`expected IGNORED, NOT IGNORED, VISIBLE or INVISIBLE ${c.where()}`);
			return { op: "alterIndex", name, visibility: v as "IGNORED" | "INVISIBLE" | "VISIBLE" | "NOT IGNORED" };
		}
		if ((c.at("CHECK") || c.at("CONSTRAINT")) && c.isIdentifier(1) && isKeyword(c.peek(2), "ENFORCED", "NOT")) {
			// MySQL's ALTER CHECK | CONSTRAINT name [NOT] ENFORCED
			return { op: "alterCheck", what: text() };
		}
		c.accept("COLUMN");
		c.accept("IF", "EXISTS");
		const name = c.identifier("a column name");
		const from = c.i;
		c.skipUntil(() => false);
		return { op: "alterColumn", name, action: c.toks.slice(from, c.i) as Tok[] };
	}
	if (c.accept("CONVERT", "TO")) {
		if (!(c.accept("CHARACTER", "SET") || c.accept("CHARSET")))
			throw new DdlSyntaxError(`expected CHARACTER SET ${c.where()}`);
		let charset = nameValue(c);
		if (charset === "utf8") charset = "utf8mb3";
		let collation: string | undefined;
		if (c.accept("COLLATE")) collation = nameValue(c);
		return { op: "convert", charset, ...(collation ? { collation } : {}) };
	}
	if (c.at("FORCE") || c.at("ENABLE", "KEYS") || c.at("DISABLE", "KEYS") || c.at("ORDER", "BY")) {
		c.skipUntil(() => false);
		return { op: "noop", what: text() };
	}
	if (c.at("ALGORITHM") || c.at("LOCK") || c.at("WITH", "VALIDATION") || c.at("WITHOUT", "VALIDATION")) {
		c.skipUntil(() => false);
		return { op: "noop", what: text() };
	}
	const options = parseTableOptions(c);
	if (c.at("PARTITION")) return partition();
	if (options.versioning) return { op: "refuse", form: "ALTER TABLE ... SYSTEM VERSIONING", what: text() };
	return { op: "options", options };
}

export function alterTable(w: Work, c: Cursor, ignoreDuplicates: boolean): void {
	if (ignoreDuplicates) w.form("ALTER IGNORE TABLE");
	c.accept("IF", "EXISTS");
	const name = c.tableName(w.db);
	if (c.accept("NOWAIT")) {
	} else if (c.accept("WAIT")) c.next();
	const subject = `ALTER TABLE ${label(name)}`;
	const specs: Spec[] = [];
	for (const range of c.splitCommas()) {
		const part = c.sub(range);
		const spec = parseSpec(part, w.db);
		if (!part.done()) throw new DdlSyntaxError(`unexpected text ${part.where()}`);
		specs.push(spec);
	}
	if (specs.length === 0)
		w.ignore("ALTER TABLE ... FORCE", `${subject}: the statement names no change, so it does nothing`);
	const original = w.mappings.get(name);
	if (!original) {
		for (const spec of specs) if (spec.op === "rename") renameOne(w, "ALTER TABLE ... RENAME TO", name, spec.to);
		w.ignore("ALTER TABLE ... table options", `${subject}: the table is not migrated`);
	}
	new AlterTable(w, original, ignoreDuplicates, subject).run(specs);
}

class AlterTable {
	private m: TableMapping;
	private readonly rule: RuleMatch;
	private readonly clauses: string[] = [];
	private readonly columnChanges: ColumnChange[] = [];
	private renameTo: TableName | undefined;

	constructor(
		private readonly w: Work,
		private readonly original: TableMapping,
		private readonly ignoreDuplicates: boolean,
		private readonly subject: string,
	) {
		this.m = { ...original, columns: [...original.columns] };
		this.rule = ruleOf(w, original);
		for (const c of original.columns) this.before.set(lower(c.source), c);
	}

	/** Names earlier clauses of the statement drop, add or rename, by namespace (lower case). */
	private readonly touched = { column: new Set<string>(), index: new Set<string>(), constraint: new Set<string>() };
	/** The table's columns as the statement found them (clauses name them so), to their entry now. */
	private readonly before = new Map<string, ColumnMapping>();

	/**
	 * MariaDB's IF [NOT] EXISTS for a clause on `name`, which makes running the statement again
	 * harmless. The server checks it against the table as it was before the statement, so a
	 * clause whose name an earlier clause changed goes without: it would be skipped.
	 */
	private exists(
		kind: keyof AlterTable["touched"],
		words: " IF EXISTS" | " IF NOT EXISTS",
		...names: string[]
	): string {
		const free = names.every((n) => !this.touched[kind].has(lower(n)));
		for (const n of names) this.touched[kind].add(lower(n));
		return this.w.mariadb && free ? words : "";
	}

	/** A column as the statement's clauses name it: one of the table's columns before the statement. */
	private existing(name: string): ColumnMapping | undefined {
		const entry = this.before.get(lower(name));
		return entry && this.m.columns.includes(entry) ? entry : undefined;
	}

	private refuse(form: DdlForm, detail: string): never {
		return this.w.refuse(form, `${this.subject}: ${detail}`);
	}

	private note(text: string): void {
		this.w.warnings.push(`${label(this.m.source)}: ${text}`);
	}

	private primaryKeyChange(form: DdlForm): void {
		if (this.m.where !== undefined) {
			this.refuse(
				form,
				`it changes the primary key of a table with a row filter (${describeRule(this.rule)}: ${this.m.where}); rows are matched by key between the filtered copy, replay and verification: change the key at the destination by hand (or remove the filter) and skip the statement`,
			);
		}
	}

	private ctx(): ColumnContext {
		return columnContext(this.w, this.m);
	}

	/** FIRST / AFTER for the destination; the mapping's column order follows. */
	private position(col: ParsedColumn, entry: ColumnMapping): string {
		const p = col.position;
		const without = this.m.columns.filter((x) => x !== entry);
		if (!p) {
			if (!this.m.columns.includes(entry)) this.m.columns = [...without, entry];
			return "";
		}
		if ("first" in p) {
			this.m.columns = [entry, ...without];
			return " FIRST";
		}
		const anchor = columnOf(this.m, p.after);
		if (!anchor || anchor === entry) {
			if (!this.m.columns.includes(entry)) this.m.columns = [...without, entry];
			this.note(
				`column ${col.name} is placed after ${p.after} at the source, which is not migrated: it goes last at the destination`,
			);
			return "";
		}
		const at = without.indexOf(anchor) + 1;
		this.m.columns = [...without.slice(0, at), entry, ...without.slice(at)];
		return ` AFTER ${quoteId(anchor.destination)}`;
	}

	private render(col: ParsedColumn, dest: string, form: DdlForm): string {
		const r = renderColumn(col, dest, this.ctx());
		if (r.refusal) this.refuse(form, `column ${col.name} (${col.typeText}): ${r.refusal}`);
		this.w.changes.push(...r.changes.map((x) => `${label(this.m.source)}.${col.name}: ${x}`));
		this.w.warnings.push(...r.warnings.map((x) => `${label(this.m.source)}.${col.name}: ${x}`));
		if (col.inlineKey === "primary") this.primaryKeyChange(form);
		return r.sql;
	}

	private checkReads(col: ParsedColumn, form: DdlForm): void {
		for (const read of col.reads) {
			const known = columnOf(this.m, read);
			if (!known && this.rule.rule.columns !== undefined && !selects(this.rule.rule, read) && read !== col.name) {
				this.refuse(
					form,
					`generated column ${col.name} reads ${read}, which the column selection of ${describeRule(this.rule)} leaves out`,
				);
			}
		}
	}

	private fillWarning(col: ParsedColumn): void {
		const d = col.schema.default;
		// CURRENT_TIMESTAMP is not among them: replay runs the statement at the source's time (ddl-execute.ts)
		const computed = d.kind === "expression" && !col.schema.generated && !isCurrentTimestamp(d.sql.replaceAll(" ", ""));
		if (col.schema.autoIncrement || computed) {
			this.note(
				`column ${col.name} is filled in existing rows by each server itself (${col.schema.autoIncrement ? "AUTO_INCREMENT" : `DEFAULT ${d.kind === "expression" ? d.sql : ""}`}): the values can differ between source and destination${this.m.where ? " (and the filtered destination numbers its rows apart)" : ""}; verification will show it`,
			);
		}
	}

	run(specs: Spec[]): void {
		const w = this.w;
		for (const spec of specs) this.apply(spec);
		// checked once all clauses ran: `CHANGE a b, CHANGE b a` swaps two columns legally
		const clash = firstClash(this.m.columns);
		if (clash) {
			this.refuse(
				w.forms.at(-1) ?? "ALTER TABLE ... CHANGE COLUMN",
				`it leaves two columns named ${clash} at the destination${this.rule.rule.renameColumns ? ` (${describeRule(this.rule)} renames columns)` : ""}: change the rule, apply the change at the destination by hand and skip the statement`,
			);
		}
		const reordered = this.m.columns.some((c, i) => c !== this.original.columns[i]);
		if (this.columnChanges.length > 0 || reordered || this.m.columns.length !== this.original.columns.length) {
			w.mappings.set(this.m);
			w.effects.push({ kind: "columns-changed", mapping: this.m, changes: this.columnChanges });
		}
		if (this.renameTo) {
			const r = renameOne(w, "ALTER TABLE ... RENAME TO", this.m.source, this.renameTo);
			if (r && tableKey(r[0]) !== tableKey(r[1])) this.clauses.push(`RENAME TO ${quoteTable(r[1])}`);
		}
		if (this.clauses.length === 0) {
			if (w.effects.length > 0) return;
			w.ignore(
				w.forms[0] ?? "ALTER TABLE ... FORCE",
				`${this.subject}: ${this.noEffect ?? "nothing in it concerns the migrated columns"}`,
			);
		}
		w.alter(
			this.original.destination,
			`ALTER TABLE ${quoteTable(this.original.destination)} ${this.clauses.join(", ")}`,
		);
	}

	private noEffect: string | undefined;

	private apply(spec: Spec): void {
		const w = this.w;
		switch (spec.op) {
			case "refuse":
				w.form(spec.form);
				this.refuse(spec.form, `${spec.what}: ${noteOf(spec.form)}`);
				return;
			case "noop":
				w.form("ALTER TABLE ... FORCE");
				this.noEffect = `${spec.what}: ${noteOf("ALTER TABLE ... FORCE")}`;
				return;
			case "rename":
				w.form("ALTER TABLE ... RENAME TO");
				this.renameTo = spec.to;
				return;
			case "addColumn":
				for (const column of spec.columns) this.addColumn(column, spec.ifNotExists);
				return;
			case "dropColumn":
				this.dropColumn(spec.name);
				return;
			case "modifyColumn":
				this.modifyColumn(spec.column);
				return;
			case "changeColumn":
				this.renameColumn("ALTER TABLE ... CHANGE COLUMN", spec.from, spec.column.name, spec.column);
				return;
			case "renameColumn":
				this.renameColumn("ALTER TABLE ... RENAME COLUMN", spec.from, spec.to, undefined);
				return;
			case "alterColumn": {
				w.form("ALTER TABLE ... ALTER COLUMN");
				const col = this.existing(spec.name);
				if (!col) {
					this.noteSkipped(spec.name);
					return;
				}
				this.clauses.push(
					`ALTER COLUMN ${quoteId(col.destination)} ${renameInExpression(spec.action, this.ctx().names)}`,
				);
				return;
			}
			case "addConstraint":
				this.addConstraint(spec.def);
				return;
			case "dropPrimary":
				w.form("ALTER TABLE ... DROP PRIMARY KEY");
				this.primaryKeyChange("ALTER TABLE ... DROP PRIMARY KEY");
				this.clauses.push("DROP PRIMARY KEY");
				return;
			case "dropIndex":
				if (lower(spec.name) === "primary") {
					this.apply({ op: "dropPrimary" });
					return;
				}
				w.form("ALTER TABLE ... DROP INDEX");
				this.clauses.push(`DROP INDEX${this.exists("index", " IF EXISTS", spec.name)} ${quoteId(spec.name)}`);
				return;
			case "dropForeign":
				w.form("ALTER TABLE ... DROP FOREIGN KEY");
				this.clauses.push(
					`DROP FOREIGN KEY${this.exists("constraint", " IF EXISTS", spec.name)} ${quoteId(spec.name)}`,
				);
				return;
			case "dropConstraint":
				w.form("ALTER TABLE ... DROP CONSTRAINT");
				this.clauses.push(`DROP CONSTRAINT${this.exists("constraint", " IF EXISTS", spec.name)} ${quoteId(spec.name)}`);
				return;
			case "renameIndex":
				w.form("ALTER TABLE ... RENAME INDEX");
				this.exists("index", " IF EXISTS", spec.from, spec.to);
				this.clauses.push(`RENAME INDEX ${quoteId(spec.from)} TO ${quoteId(spec.to)}`);
				return;
			case "alterIndex":
				w.form("ALTER TABLE ... ALTER INDEX");
				this.clauses.push(`ALTER INDEX ${quoteId(spec.name)} ${visibilityKeyword(spec.visibility, w.engine)}`);
				return;
			case "options": {
				w.form("ALTER TABLE ... table options");
				const noted = w.changes.length;
				const sql = renderTableOptions(w, spec.options, this.m.source);
				if (sql) this.clauses.push(sql);
				else
					this.noEffect ??= `its table options do not apply at the destination (${w.changes.slice(noted).join("; ") || "none is kept"})`;
				return;
			}
			case "alterCheck":
				w.form("ALTER TABLE ... ADD CHECK");
				if (w.engine !== "mysql") {
					this.refuse(
						"ALTER TABLE ... ADD CHECK",
						`${spec.what}: the destination has no checks that are not enforced (every check is): drop or add the check at the destination by hand and skip the statement`,
					);
				}
				this.clauses.push(spec.what);
				return;
			case "convert": {
				w.form("ALTER TABLE ... CONVERT TO CHARACTER SET");
				const cs = convertCharset(
					{ charset: spec.charset, collation: spec.collation ?? `${spec.charset}_general_ci` },
					w.dialect,
				);
				w.changes.push(...cs.changes.map((x) => `${label(this.m.source)}: ${x.what} (${x.why})`));
				w.warnings.push(...cs.warnings);
				const collate = spec.collation !== undefined || cs.changes.length > 0 ? ` COLLATE ${cs.value.collation}` : "";
				this.clauses.push(`CONVERT TO CHARACTER SET ${cs.value.charset}${collate}`);
				return;
			}
		}
	}

	private readonly skippedColumns: string[] = [];

	private noteSkipped(column: string): void {
		this.skippedColumns.push(column);
		const list = this.skippedColumns;
		const one = list.length === 1;
		this.noEffect =
			this.rule.rule.columns === undefined
				? `the table has no ${one ? "column" : "columns"} ${list.join(", ")} (the statement's IF EXISTS passes over ${one ? "it" : "them"})`
				: `${one ? "column" : "columns"} ${list.join(", ")} ${one ? "is" : "are"} not migrated (the column selection of ${describeRule(this.rule)} leaves ${one ? "it" : "them"} out)`;
	}

	private addColumn(col: ParsedColumn, ifNotExists: boolean): void {
		const form: DdlForm = "ALTER TABLE ... ADD COLUMN";
		this.w.form(form);
		if (columnOf(this.m, col.name)) {
			if (!ifNotExists) this.note(`column ${col.name} is migrated already; ADD COLUMN is not repeated`);
			return;
		}
		const ine = this.exists("column", " IF NOT EXISTS", renamedColumn(this.rule.rule, col.name));
		if (!selects(this.rule.rule, col.name)) {
			this.note(
				`new column ${col.name} is not migrated: the column selection of ${describeRule(this.rule)} leaves it out`,
			);
			this.noteSkipped(col.name);
			return;
		}
		this.checkReads(col, form);
		const entry: ColumnMapping = { source: col.name, destination: renamedColumn(this.rule.rule, col.name) };
		const clash = firstClash([...this.m.columns, entry]);
		if (clash)
			this.refuse(
				form,
				`the destination table has a column named ${clash} already (${describeRule(this.rule)} renames columns)`,
			);
		this.m.columns = [...this.m.columns, entry];
		const sql = this.render(col, entry.destination, form);
		const position = this.position(col, entry);
		this.fillWarning(col);
		this.clauses.push(`ADD COLUMN${ine} ${sql}${position}`);
		this.columnChanges.push({ change: "added", column: entry });
	}

	private dropColumn(name: string): void {
		const form: DdlForm = "ALTER TABLE ... DROP COLUMN";
		this.w.form(form);
		const col = this.existing(name);
		if (!col) {
			this.noteSkipped(name);
			return;
		}
		if (this.m.where !== undefined && filterReads(this.m.where, name)) {
			this.refuse(
				form,
				`the row filter of ${describeRule(this.rule)} (${this.m.where}) reads column ${name}: change the rule's filter, then skip the statement after dropping the column at the destination by hand`,
			);
		}
		if (this.rule.rule.columns !== undefined && namesColumn(this.rule.rule, name)) {
			this.note(
				`${describeRule(this.rule)} still names the dropped column ${name}: remove it from the rule before the project restarts`,
			);
		}
		this.m.columns = this.m.columns.filter((c) => c !== col);
		this.clauses.push(`DROP COLUMN${this.exists("column", " IF EXISTS", col.destination)} ${quoteId(col.destination)}`);
		this.columnChanges.push({ change: "dropped", source: col.source });
	}

	private modifyColumn(col: ParsedColumn): void {
		const form: DdlForm = "ALTER TABLE ... MODIFY COLUMN";
		this.w.form(form);
		const entry = this.existing(col.name);
		if (!entry) {
			this.noteSkipped(col.name);
			return;
		}
		if (entry.source !== col.name) {
			// MODIFY c2 as C2 renames the column to the new letter case
			this.renameColumn(form, entry.source, col.name, col);
			return;
		}
		const ie = this.exists("column", " IF EXISTS", entry.destination);
		const sql = this.render(col, entry.destination, form);
		const position = this.position(col, entry);
		this.clauses.push(`MODIFY COLUMN${ie} ${sql}${position}`);
	}

	private renameColumn(form: DdlForm, from: string, to: string, col: ParsedColumn | undefined): void {
		this.w.form(form);
		const entry = this.existing(from);
		const rule = this.rule.rule;
		const renaming = lower(from) !== lower(to);
		if (!entry) {
			if (renaming && rule.columns !== undefined && selects(rule, to)) {
				this.refuse(
					form,
					`it renames column ${from}, which ${describeRule(this.rule)} leaves out, to ${to}, which the rule selects: the destination has no such column; change the rule and skip the statement`,
				);
			}
			this.noteSkipped(from);
			return;
		}
		if (renaming && rule.columns !== undefined) {
			this.refuse(
				form,
				`${describeRule(this.rule)} selects columns by name and names ${from}: after the rename it would no longer describe the table; change the rule, rename the column at the destination by hand and skip the statement`,
			);
		}
		if (renaming && this.m.where !== undefined && filterReads(this.m.where, from)) {
			this.refuse(
				form,
				`the row filter of ${describeRule(this.rule)} (${this.m.where}) reads column ${from}: change the rule's filter, rename the column at the destination by hand and skip the statement`,
			);
		}
		if (renaming && namesColumn(rule, from)) {
			this.note(
				`${describeRule(this.rule)} renames column ${from}, which is now ${to}: the destination column follows the new name`,
			);
		}
		// a new letter case is a rename too (clients may read columns by case-sensitive name), unless the rule names the column
		const destination = renaming
			? renamedColumn(rule, to)
			: renamedColumn(rule, from) === from
				? to
				: entry.destination;
		const next: ColumnMapping = { source: to, destination };
		this.m.columns = this.m.columns.map((c) => (c === entry ? next : c));
		this.before.set(lower(from), next);
		if (col) {
			const ie = this.exists("column", " IF EXISTS", entry.destination, next.destination);
			const sql = this.render(col, next.destination, form);
			const position = this.position(col, next);
			this.clauses.push(`CHANGE COLUMN${ie} ${quoteId(entry.destination)} ${sql}${position}`);
		} else if (next.destination !== entry.destination) {
			this.exists("column", " IF EXISTS", entry.destination, next.destination);
			this.clauses.push(`RENAME COLUMN ${quoteId(entry.destination)} TO ${quoteId(next.destination)}`);
		}
		if (entry.source !== next.source || entry.destination !== next.destination) {
			this.columnChanges.push({ change: "renamed", from: entry.source, column: next });
		}
	}

	/** Whether an added key or foreign key can go IF NOT EXISTS: named, and the name untouched so far. */
	private ifNotExists(def: ParsedConstraint): boolean {
		if (def.kind === "foreign") {
			const name = def.symbol ?? def.name;
			if (name === undefined) return false;
			this.touched.index.add(lower(name));
			return this.exists("constraint", " IF NOT EXISTS", name) !== "";
		}
		if (def.kind === "check" || def.kind === "period" || def.kind === "primary") return false;
		// an unnamed key gets a name the server makes unique (a_2 when a is taken): nothing to check
		const name = def.name ?? def.symbol;
		return name !== undefined && this.exists("index", " IF NOT EXISTS", name) !== "";
	}

	private addConstraint(def: ParsedConstraint): void {
		const form: DdlForm =
			def.kind === "primary"
				? "ALTER TABLE ... ADD PRIMARY KEY"
				: def.kind === "foreign"
					? "ALTER TABLE ... ADD FOREIGN KEY"
					: def.kind === "check"
						? "ALTER TABLE ... ADD CHECK"
						: def.kind === "period"
							? "ALTER TABLE ... SYSTEM VERSIONING"
							: "ALTER TABLE ... ADD INDEX";
		this.w.form(form);
		if (def.kind === "primary") this.primaryKeyChange(form);
		if (this.ignoreDuplicates && (def.kind === "primary" || def.kind === "unique")) {
			this.w.form("ALTER IGNORE TABLE");
			this.refuse(
				"ALTER IGNORE TABLE",
				`ALTER IGNORE TABLE ... ADD ${def.kind === "primary" ? "PRIMARY KEY" : "UNIQUE"}: the source deletes the rows that duplicate a key value without row events, so the destination would keep them: add the key at the destination by hand after removing the same duplicates, and skip the statement`,
			);
		}
		const r = renderConstraint(def, this.ctx(), this.ifNotExists(def));
		if (r.refusal) this.refuse(form, r.refusal);
		this.w.changes.push(...r.changes.map((x) => `${label(this.m.source)}: ${x}`));
		this.w.warnings.push(...r.warnings.map((x) => `${label(this.m.source)}: ${x}`));
		if (r.skipped) {
			this.note(r.skipped);
			this.noEffect ??= r.skipped;
			return;
		}
		this.clauses.push(`ADD ${r.sql}`);
	}
}

// ---------------------------------------------------------------- CREATE / DROP INDEX

/** CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX, read from INDEX on; `kindWord` is the word before INDEX. */
export function createIndex(w: Work, c: Cursor, kindWord: string | undefined, orReplace: boolean): void {
	w.form("CREATE INDEX");
	const kind: IndexKind =
		kindWord === "UNIQUE"
			? "unique"
			: kindWord === "FULLTEXT"
				? "fulltext"
				: kindWord === "SPATIAL"
					? "spatial"
					: "index";
	c.expect("INDEX");
	const ifNotExists = c.accept("IF", "NOT", "EXISTS");
	const name = c.identifier("an index name");
	let using: string | undefined;
	if (c.accept("USING") || c.accept("TYPE")) using = c.identifier("an index type").toUpperCase();
	c.expect("ON");
	const table = c.tableName(w.db);
	const subject = `CREATE INDEX ${name} ON ${label(table)}`;
	const m = w.mappings.get(table);
	if (!m) w.ignore("CREATE INDEX", `${subject}: the table is not migrated`);
	if (c.accept("USING") || c.accept("TYPE")) using = c.identifier("an index type").toUpperCase();
	const parts = keyParts(c);
	const tail = indexOptions(c);
	const def: ParsedConstraint = {
		kind,
		name,
		ifNotExists,
		...((tail.using ?? using) ? { using: tail.using ?? using } : {}),
		parts,
		...(tail.comment !== undefined ? { comment: tail.comment } : {}),
		...(tail.visibility ? { visibility: tail.visibility } : {}),
		options: tail.options,
	};
	// IF NOT EXISTS is checked before the statement, so after OR REPLACE's DROP it would skip the new index
	const r = renderConstraint(def, columnContext(w, m), !orReplace);
	if (r.refusal) w.refuse("CREATE INDEX", `${subject}: ${r.refusal}`);
	w.changes.push(...r.changes.map((x) => `${label(table)}: ${x}`));
	w.warnings.push(...r.warnings.map((x) => `${label(table)}: ${x}`));
	if (r.skipped) w.ignore("CREATE INDEX", `${subject}: ${r.skipped}`);
	const clauses: string[] = [];
	if (orReplace) clauses.push(`DROP INDEX${w.mariadb ? " IF EXISTS" : ""} ${quoteId(name)}`);
	clauses.push(`ADD ${r.sql}`);
	w.alter(m.destination, `ALTER TABLE ${quoteTable(m.destination)} ${clauses.join(", ")}`);
}

export function dropIndex(w: Work, c: Cursor): void {
	w.form("DROP INDEX");
	c.accept("IF", "EXISTS");
	const name = c.identifier("an index name");
	c.expect("ON");
	const table = c.tableName(w.db);
	const m = w.mappings.get(table);
	if (!m) w.ignore("DROP INDEX", `DROP INDEX ${name} ON ${label(table)}: the table is not migrated`);
	if (lower(name) === "primary" && m.where !== undefined) {
		w.refuse(
			"DROP INDEX",
			`DROP INDEX PRIMARY ON ${label(table)}: it drops the primary key of a table with a row filter (${m.where}); rows are matched by key between the filtered copy, replay and verification`,
		);
	}
	const clause =
		lower(name) === "primary" ? "DROP PRIMARY KEY" : `DROP INDEX${w.mariadb ? " IF EXISTS" : ""} ${quoteId(name)}`;
	w.alter(m.destination, `ALTER TABLE ${quoteTable(m.destination)} ${clause}`);
}

export function noteOf(form: DdlForm): string {
	return SUPPORTED_DDL[form].note;
}
