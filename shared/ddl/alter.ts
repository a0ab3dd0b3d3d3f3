import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import {
	type ColumnMapping,
	destinationClash,
	lower,
	namesColumn,
	type RuleMatch,
	renamedColumn,
	selects,
	type TableMapping,
	type TableName,
} from "../model/rules.ts";
import { convertCharset } from "../schema/dialect/charsets.ts";
import { isCurrentTimestamp, tableKey } from "../schema/snapshot.ts";
import { ClauseNames } from "./alter-names.ts";
import { parseSpec, type Spec } from "./alter-spec.ts";
import { type ColumnContext, type ParsedColumn, renderColumn } from "./column.ts";
import { type ParsedConstraint, renderConstraint, visibilityKeyword } from "./constraint.ts";
import { renameInExpression } from "./expression.ts";
import { type Cursor, DdlSyntaxError } from "./parse.ts";
import { describeRule, filterReads } from "./rules.ts";
import type { ColumnChange, Work } from "./state.ts";
import type { DdlForm } from "./support.ts";
import { columnContext, columnOf, noteOf, renameOne, ruleOf } from "./table.ts";
import { renderTableOptions } from "./table-options.ts";

/**
 * ALTER TABLE: each clause decided with the table's mapping and rule, the migrated ones written
 * as one destination statement, the mapping's changes as effects.
 */

const label = qualifiedName;

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
	private readonly names: ClauseNames;

	constructor(
		private readonly w: Work,
		private readonly original: TableMapping,
		private readonly ignoreDuplicates: boolean,
		private readonly subject: string,
	) {
		this.m = { ...original, columns: [...original.columns] };
		this.rule = ruleOf(w, original);
		this.names = new ClauseNames(original.columns, w.mariadb);
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
		const clash = destinationClash(this.m.columns)?.second.destination;
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
				const col = this.names.existing(spec.name, this.m.columns);
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
				this.clauses.push(`DROP INDEX${this.names.exists("index", " IF EXISTS", spec.name)} ${quoteId(spec.name)}`);
				return;
			case "dropForeign":
				w.form("ALTER TABLE ... DROP FOREIGN KEY");
				this.clauses.push(
					`DROP FOREIGN KEY${this.names.exists("constraint", " IF EXISTS", spec.name)} ${quoteId(spec.name)}`,
				);
				return;
			case "dropConstraint":
				w.form("ALTER TABLE ... DROP CONSTRAINT");
				this.clauses.push(
					`DROP CONSTRAINT${this.names.exists("constraint", " IF EXISTS", spec.name)} ${quoteId(spec.name)}`,
				);
				return;
			case "renameIndex":
				w.form("ALTER TABLE ... RENAME INDEX");
				this.names.exists("index", " IF EXISTS", spec.from, spec.to);
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
			this.noEffect ??= `the table has a column ${col.name} already (the statement's IF NOT EXISTS passes over it)`;
			return;
		}
		const ine = this.names.exists("column", " IF NOT EXISTS", renamedColumn(this.rule.rule, col.name));
		if (!selects(this.rule.rule, col.name)) {
			this.note(
				`new column ${col.name} is not migrated: the column selection of ${describeRule(this.rule)} leaves it out`,
			);
			this.noteSkipped(col.name);
			return;
		}
		this.checkReads(col, form);
		const entry: ColumnMapping = { source: col.name, destination: renamedColumn(this.rule.rule, col.name) };
		const clash = destinationClash([...this.m.columns, entry])?.second.destination;
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
		const col = this.names.existing(name, this.m.columns);
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
		this.clauses.push(
			`DROP COLUMN${this.names.exists("column", " IF EXISTS", col.destination)} ${quoteId(col.destination)}`,
		);
		this.columnChanges.push({ change: "dropped", source: col.source });
	}

	private modifyColumn(col: ParsedColumn): void {
		const form: DdlForm = "ALTER TABLE ... MODIFY COLUMN";
		this.w.form(form);
		const entry = this.names.existing(col.name, this.m.columns);
		if (!entry) {
			this.noteSkipped(col.name);
			return;
		}
		if (entry.source !== col.name) {
			// MODIFY c2 as C2 renames the column to the new letter case
			this.renameColumn(form, entry.source, col.name, col);
			return;
		}
		const ie = this.names.exists("column", " IF EXISTS", entry.destination);
		const sql = this.render(col, entry.destination, form);
		const position = this.position(col, entry);
		this.clauses.push(`MODIFY COLUMN${ie} ${sql}${position}`);
	}

	private renameColumn(form: DdlForm, from: string, to: string, col: ParsedColumn | undefined): void {
		this.w.form(form);
		const entry = this.names.existing(from, this.m.columns);
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
		this.names.before.set(lower(from), next);
		if (col) {
			const ie = this.names.exists("column", " IF EXISTS", entry.destination, next.destination);
			const sql = this.render(col, next.destination, form);
			const position = this.position(col, next);
			this.clauses.push(`CHANGE COLUMN${ie} ${quoteId(entry.destination)} ${sql}${position}`);
		} else if (next.destination !== entry.destination) {
			this.names.exists("column", " IF EXISTS", entry.destination, next.destination);
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
			this.names.touched.index.add(lower(name));
			return this.names.exists("constraint", " IF NOT EXISTS", name) !== "";
		}
		if (def.kind === "check" || def.kind === "period" || def.kind === "primary") return false;
		// an unnamed key gets a name the server makes unique (a_2 when a is taken): nothing to check
		const name = def.name ?? def.symbol;
		return name !== undefined && this.names.exists("index", " IF NOT EXISTS", name) !== "";
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
