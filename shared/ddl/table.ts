import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import {
	type ColumnMapping,
	includingRule,
	lower,
	type RuleMatch,
	type TableMapping,
	type TableName,
	type TableRule,
} from "../model/rules.ts";
import { type IndexKind, tableKey } from "../schema/snapshot.ts";
import { type ColumnContext, type ParsedColumn, parseColumn, renderColumn } from "./column.ts";
import {
	atConstraint,
	indexOptions,
	keyParts,
	type ParsedConstraint,
	parseConstraint,
	renderConstraint,
} from "./constraint.ts";
import { type Cursor, DdlSyntaxError, isKeyword } from "./parse.ts";
import { describeRule, mapTable } from "./rules.ts";
import type { Work } from "./state.ts";
import { type DdlForm, SUPPORTED_DDL } from "./support.ts";
import { OPTION_STOP, parseTableOptions, renderTableOptions } from "./table-options.ts";

/**
 * Table statements: CREATE TABLE (and LIKE), DROP, RENAME, TRUNCATE, CREATE and DROP INDEX
 * (ALTER TABLE in alter.ts). Each reads the statement, decides with the mappings and rules, and adds
 * destination statements and mapping effects to the Work, or throws a refusal.
 */

const label = qualifiedName;

export function columnOf(m: TableMapping, source: string): ColumnMapping | undefined {
	return m.columns.find((c) => lower(c.source) === lower(source));
}

export function columnContext(w: Work, m: TableMapping): ColumnContext {
	return {
		dialect: w.dialect,
		names: (source) => columnOf(m, source)?.destination,
		referenced: (t) => (tableKey(t) === tableKey(m.source) ? m : w.mappings.get(t)),
	};
}

/** The rule that made a mapping, or one that describes it exactly when the rules no longer match it. */
export function ruleOf(w: Work, m: TableMapping): RuleMatch {
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
export function renameOne(w: Work, form: DdlForm, from: TableName, to: TableName): [TableName, TableName] | null {
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
