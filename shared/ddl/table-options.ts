import { escapeValue, qualifiedName } from "../db/sql.ts";
import type { TableName } from "../model/rules.ts";
import { convertCharset } from "../schema/dialect/charsets.ts";
import { convertTable } from "../schema/dialect/tables.ts";
import { unquoteStringLiteral } from "../schema/sqltext.ts";
import { type Cursor, DdlSyntaxError } from "./parse.ts";
import type { Work } from "./state.ts";

/** Table options of CREATE and ALTER TABLE: read, and written for the destination by the dialect's table rules. */

const label = qualifiedName;

export interface TableOptions {
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

export const OPTION_STOP = ["PARTITION", "AS", "SELECT", "IGNORE", "REPLACE", "START", "WITH", "TABLE", "VALUES"];

function optionValue(c: Cursor): string {
	if (c.isPunct("(")) return `(${c.text(c.group())})`;
	const t = c.next();
	if (t.kind === "string") return t.text;
	if (t.kind === "quoted") return t.name as string;
	return t.text;
}

/** A character set or collation name, written bare, quoted or as a string. */
export function nameValue(c: Cursor): string {
	const t = c.next();
	if (t.kind === "string") return unquoteStringLiteral(t.text).toLowerCase();
	if (t.kind === "quoted") return (t.name as string).toLowerCase();
	if (t.kind === "word") return t.text.toLowerCase();
	throw new DdlSyntaxError(`expected a character set or collation name ${c.where()}`);
}

/** Table options up to the end, a partition clause or a SELECT. */
export function parseTableOptions(c: Cursor): TableOptions {
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
			o.comment = unquoteStringLiteral(t.text);
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
export function renderTableOptions(w: Work, o: TableOptions, name: TableName): string {
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
