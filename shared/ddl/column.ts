import { quoteId, quoteTable } from "../db/sql.ts";
import { BINARY_STRING_TYPES } from "../db/types.ts";
import type { Engine } from "../model/datasource.ts";
import { lower, type TableMapping, type TableName } from "../model/rules.ts";
import { literalSql } from "../schema/ddl.ts";
import { convertColumn } from "../schema/dialect/columns.ts";
import type { DialectContext } from "../schema/dialect/rules.ts";
import type { ColumnDefault, ColumnSchema } from "../schema/snapshot.ts";
import { isCurrentTimestamp } from "../schema/snapshot.ts";
import { unquoteStringLiteral } from "../schema/sqltext.ts";
import { type ColumnNames, namesIn, renameInExpression } from "./expression.ts";
import { type Cursor, DdlSyntaxError, isKeyword, joinTokens, type Tok } from "./parse.ts";

/**
 * Column and index definitions of CREATE TABLE and ALTER TABLE: read into the structures the
 * schema migration's dialect rules (shared/schema/dialect/) work on, converted by those rules,
 * and written back. A definition the rules leave alone is written back as the source wrote it
 * (names mapped), so nothing is lost to a re-rendering; only what a rule changed is rewritten.
 */

type AttrKind =
	| "null"
	| "notnull"
	| "default"
	| "onupdate"
	| "autoinc"
	| "comment"
	| "generated"
	| "invisible"
	| "visible"
	| "check"
	| "charset"
	| "collate"
	| "primary"
	| "unique"
	| "references"
	| "compressed"
	| "other";

interface Attr {
	kind: AttrKind;
	toks: Tok[];
}

export type ColumnPosition = { first: true } | { after: string };

export interface ParsedColumn {
	name: string;
	/** The column as the dialect rules see it. */
	schema: ColumnSchema;
	typeText: string;
	attrs: Attr[];
	/** PRIMARY KEY or UNIQUE written on the column. */
	inlineKey: "primary" | "unique" | null;
	/** Columns read by its generation expression and CHECK. */
	reads: string[];
	/** FIRST / AFTER, in ALTER TABLE. */
	position?: ColumnPosition;
	/** Inline REFERENCES: the table and columns. */
	references?: { table: TableName; columns: string[] };
}

/** Words that start a column attribute, so a DEFAULT or ON UPDATE value ends before them. */
const ATTRIBUTE_START = new Set([
	// a table's partitioning clause, which may follow the last column of an ALTER
	"PARTITION",
	"NOT",
	"NULL",
	"DEFAULT",
	"ON",
	"AUTO_INCREMENT",
	"COMMENT",
	"GENERATED",
	"AS",
	"INVISIBLE",
	"VISIBLE",
	"CONSTRAINT",
	"CHECK",
	"PRIMARY",
	"KEY",
	"UNIQUE",
	"REFERENCES",
	"CHARACTER",
	"CHARSET",
	"COLLATE",
	"COLUMN_FORMAT",
	"STORAGE",
	"SRID",
	"COMPRESSED",
	"ENGINE_ATTRIBUTE",
	"SECONDARY_ENGINE_ATTRIBUTE",
	"WITH",
	"WITHOUT",
	"SERIAL",
	"FIRST",
	"AFTER",
]);

const TYPE_MODIFIERS = ["UNSIGNED", "SIGNED", "ZEROFILL", "BINARY", "ASCII", "UNICODE", "BYTE"];

const TYPE_SYNONYMS: Record<string, string> = {
	integer: "int",
	int1: "tinyint",
	int2: "smallint",
	int3: "mediumint",
	int4: "int",
	int8: "bigint",
	middleint: "mediumint",
	bool: "tinyint",
	boolean: "tinyint",
	dec: "decimal",
	numeric: "decimal",
	fixed: "decimal",
	real: "double",
	float4: "float",
	float8: "double",
	serial: "bigint",
	character: "char",
	nchar: "char",
	national: "char",
	nvarchar: "varchar",
	long: "mediumtext",
};

const DEFAULT_COLLATION: Record<string, string> = {
	latin1: "latin1_swedish_ci",
	binary: "binary",
	ascii: "ascii_general_ci",
	utf8: "utf8mb3_general_ci",
	utf8mb3: "utf8mb3_general_ci",
	utf8mb4: "utf8mb4_general_ci",
	ucs2: "ucs2_general_ci",
	utf16: "utf16_general_ci",
	utf32: "utf32_general_ci",
};

/** A character set or collation name, written bare, quoted or as a string. */
function charsetName(c: Cursor): string {
	const t = c.next();
	if (t.kind === "string") return unquoteStringLiteral(t.text).toLowerCase();
	if (t.kind === "quoted") return (t.name as string).toLowerCase();
	if (t.kind === "word") return t.text.toLowerCase();
	throw new DdlSyntaxError(`expected a character set or collation name ${c.where()}`);
}

/**
 * Reads `name type attributes... [FIRST | AFTER col]` from the cursor to its end. `tableDb` is
 * the database an inline REFERENCES table belongs to when unqualified.
 */
export function parseColumn(c: Cursor, tableDb: string): ParsedColumn {
	const name = c.identifier("a column name");
	const typeStart = c.i;
	const first = c.next();
	if (first.kind !== "word") throw new DdlSyntaxError(`expected the type of column ${name} ${c.where()}`);
	let dataType = first.text.toLowerCase();
	if (dataType === "double") c.accept("PRECISION");
	if (dataType === "long") {
		const next = c.acceptOneOf("VARCHAR", "VARBINARY", "VARCHARACTER");
		if (next === "VARBINARY") dataType = "mediumblob";
	}
	if (dataType === "national") c.acceptOneOf("CHAR", "CHARACTER", "VARCHAR");
	if (["char", "character", "national", "nchar"].includes(dataType) && c.accept("VARYING")) dataType = "varchar";
	dataType = TYPE_SYNONYMS[dataType] ?? dataType;
	if (c.isPunct("(")) c.group();
	while (c.acceptOneOf(...TYPE_MODIFIERS));
	const typeText = c.text([typeStart, c.i]);

	const attrs: Attr[] = [];
	const reads: string[] = [];
	let charset: string | undefined;
	let collation: string | undefined;
	let defaultValue: ColumnDefault = { kind: "none" };
	let comment = "";
	let generated: ColumnSchema["generated"] = null;
	let onUpdate: string | null = null;
	let check: string | null = null;
	let inlineKey: ParsedColumn["inlineKey"] = null;
	let position: ColumnPosition | undefined;
	let references: ParsedColumn["references"];
	const flags = { notNull: false, autoIncrement: false, invisible: false };

	/** A DEFAULT / ON UPDATE value: a group, or tokens up to the next attribute. */
	const value = (): [number, number] => {
		const from = c.i;
		if (c.isPunct("(")) {
			c.group();
			return [from, c.i];
		}
		c.next();
		if (c.isPunct("(")) c.group();
		c.skipUntil((t) => t.kind === "word" && ATTRIBUTE_START.has(t.text.toUpperCase()));
		return [from, c.i];
	};

	while (!c.done()) {
		const from = c.i;
		const push = (kind: AttrKind) => attrs.push({ kind, toks: c.toks.slice(from, c.i) as Tok[] });
		if (c.accept("NOT", "NULL")) {
			flags.notNull = true;
			push("notnull");
		} else if (c.accept("NULL")) {
			push("null");
		} else if (c.accept("DEFAULT")) {
			const range = value();
			defaultValue = readDefault(c.toks.slice(range[0], range[1]) as Tok[], dataType);
			push("default");
		} else if (c.accept("ON", "UPDATE")) {
			onUpdate = c.text(value());
			push("onupdate");
		} else if (c.accept("AUTO_INCREMENT")) {
			flags.autoIncrement = true;
			push("autoinc");
		} else if (c.accept("COMMENT")) {
			const t = c.next();
			if (t.kind !== "string") throw new DdlSyntaxError(`expected the comment of column ${name} as a string`);
			comment = unquoteStringLiteral(t.text);
			push("comment");
		} else if (c.at("GENERATED") || c.at("AS")) {
			if (c.accept("GENERATED")) c.expect("ALWAYS");
			c.expect("AS");
			const inner = c.group();
			const toks = c.toks.slice(inner[0], inner[1]) as Tok[];
			reads.push(...namesIn(toks));
			const kind = c.acceptOneOf("VIRTUAL", "STORED", "PERSISTENT");
			generated = {
				kind: kind === "STORED" || kind === "PERSISTENT" ? "stored" : "virtual",
				expression: joinTokens(toks),
			};
			push("generated");
		} else if (c.accept("INVISIBLE")) {
			flags.invisible = true;
			push("invisible");
		} else if (c.accept("VISIBLE")) {
			push("visible");
		} else if (c.at("CONSTRAINT") || c.at("CHECK")) {
			if (c.accept("CONSTRAINT") && !c.at("CHECK")) c.identifier("a constraint name");
			c.expect("CHECK");
			const inner = c.group();
			check ??= c.text(inner);
			if (!c.accept("NOT", "ENFORCED")) c.accept("ENFORCED");
			push("check");
		} else if (c.accept("PRIMARY", "KEY") || c.accept("KEY")) {
			inlineKey = "primary";
			push("primary");
		} else if (c.accept("UNIQUE")) {
			c.acceptOneOf("KEY");
			inlineKey ??= "unique";
			push("unique");
		} else if (c.accept("REFERENCES")) {
			const table = c.tableName(tableDb);
			const columns: string[] = [];
			if (c.isPunct("(")) {
				const inner = c.sub(c.group());
				for (const part of inner.splitCommas()) columns.push(inner.sub(part).identifier("a column name"));
			}
			skipReferenceTail(c);
			references = { table, columns };
			push("references");
		} else if (c.accept("CHARACTER", "SET") || c.accept("CHARSET")) {
			c.acceptEquals();
			charset = charsetName(c);
			push("charset");
		} else if (c.accept("COLLATE")) {
			c.acceptEquals();
			collation = charsetName(c);
			push("collate");
		} else if (c.accept("COMPRESSED")) {
			if (c.acceptPunct("=")) c.next();
			push("compressed");
		} else if (c.acceptOneOf("COLUMN_FORMAT", "STORAGE", "SRID")) {
			c.next();
			push("other");
		} else if (c.acceptOneOf("ENGINE_ATTRIBUTE", "SECONDARY_ENGINE_ATTRIBUTE")) {
			c.acceptEquals();
			c.next();
			push("other");
		} else if (c.accept("WITH", "SYSTEM", "VERSIONING") || c.accept("WITHOUT", "SYSTEM", "VERSIONING")) {
			push("other");
		} else if (c.accept("SERIAL", "DEFAULT", "VALUE")) {
			flags.notNull = true;
			flags.autoIncrement = true;
			inlineKey ??= "unique";
			push("other");
		} else if (c.accept("FIRST")) {
			position = { first: true };
		} else if (c.accept("AFTER")) {
			position = { after: c.identifier("a column name") };
		} else {
			throw new DdlSyntaxError(`unknown attribute of column ${name} ${c.where()}`);
		}
	}
	if (first.text.toLowerCase() === "serial") {
		flags.notNull = true;
		flags.autoIncrement = true;
		inlineKey ??= "unique";
	}

	if (collation !== undefined && charset === undefined)
		charset = collation === "binary" ? "binary" : collation.split("_")[0];
	if (charset === "utf8") charset = "utf8mb3";
	if (charset !== undefined && collation === undefined)
		collation = DEFAULT_COLLATION[charset] ?? `${charset}_general_ci`;

	const schema: ColumnSchema = {
		name,
		dataType,
		columnType: typeText,
		nullable: !flags.notNull && inlineKey !== "primary",
		default: defaultValue,
		charset: charset ?? null,
		collation: collation ?? null,
		comment,
		generated,
		autoIncrement: flags.autoIncrement,
		onUpdate,
		invisible: flags.invisible,
		check,
	};
	return {
		name,
		schema,
		typeText,
		attrs,
		inlineKey,
		reads,
		...(position ? { position } : {}),
		...(references ? { references } : {}),
	};
}

function skipReferenceTail(c: Cursor): void {
	for (;;) {
		if (c.accept("MATCH")) c.next();
		else if (c.accept("ON", "DELETE") || c.accept("ON", "UPDATE")) {
			if (!(c.accept("SET", "NULL") || c.accept("SET", "DEFAULT") || c.accept("NO", "ACTION"))) {
				if (!c.acceptOneOf("RESTRICT", "CASCADE"))
					throw new DdlSyntaxError(`expected a referential action ${c.where()}`);
			}
		} else return;
	}
}

function readDefault(toks: Tok[], dataType: string): ColumnDefault {
	const text = joinTokens(toks);
	const only = toks.length === 1 ? toks[0] : undefined;
	if (only?.kind === "string") {
		const value = unquoteStringLiteral(only.text);
		return BINARY_STRING_TYPES.has(dataType)
			? { kind: "bytes", hex: Buffer.from(value, "utf8").toString("hex") }
			: { kind: "string", value };
	}
	if (isKeyword(only, "NULL")) return { kind: "null" };
	if (toks[0]?.text === "(" && toks.at(-1)?.text === ")")
		return { kind: "expression", sql: joinTokens(toks.slice(1, -1)) };
	if (isCurrentTimestamp(text.replaceAll(" ", "")) || toks.some((t) => t.text === "("))
		return { kind: "expression", sql: text };
	return { kind: "number", text };
}

function defaultClause(d: ColumnDefault): string {
	if (d.kind === "none") return "";
	if (d.kind === "expression") return isCurrentTimestamp(d.sql) ? `DEFAULT ${d.sql}` : `DEFAULT (${d.sql})`;
	return `DEFAULT ${literalSql(d)}`;
}

export interface RenderedColumn {
	sql: string;
	changes: string[];
	warnings: string[];
	refusal: string | null;
}

export interface ColumnContext {
	dialect: DialectContext;
	names: ColumnNames;
	/** The destination name of a referenced table with its column names, or undefined when not migrated. */
	referenced: (table: TableName) => TableMapping | undefined;
}

/**
 * The column definition for the destination: converted by the dialect rules, named `destName`,
 * with the column names inside expressions mapped. Without the position clause.
 */
export function renderColumn(p: ParsedColumn, destName: string, ctx: ColumnContext): RenderedColumn {
	const verdict = convertColumn(p.schema, ctx.dialect);
	const v = verdict.value;
	const before = p.schema;
	const engine: Engine = ctx.dialect.destination.engine;
	const warnings = [...verdict.warnings];
	const changes = verdict.changes.map((c) => `${c.what} (${c.why})`);
	let attrs = [...p.attrs];
	const typeText = v.columnType !== before.columnType ? v.columnType : p.typeText;
	let charsetClause = "";
	if (v.charset !== before.charset || v.collation !== before.collation) {
		attrs = attrs.filter((a) => a.kind !== "charset" && a.kind !== "collate");
		if (v.charset !== null && v.collation !== null)
			charsetClause = ` CHARACTER SET ${v.charset} COLLATE ${v.collation}`;
	}
	const rewritten = new Map<Attr, string>();
	if (JSON.stringify(v.default) !== JSON.stringify(before.default)) {
		const clause = defaultClause(v.default);
		const at = attrs.findIndex((a) => a.kind === "default");
		if (at >= 0) {
			if (clause === "") attrs.splice(at, 1);
			else rewritten.set(attrs[at] as Attr, clause);
		} else if (clause !== "") {
			const added: Attr = { kind: "default", toks: [] };
			attrs.push(added);
			rewritten.set(added, clause);
		}
	}
	if (v.check !== before.check) {
		const at = attrs.findIndex((a) => a.kind === "check");
		if (at >= 0) attrs.splice(at, 1);
		if (v.check !== null) {
			const added: Attr = { kind: "check", toks: [] };
			attrs.push(added);
			rewritten.set(added, `CHECK (${v.check})`);
		}
	}
	if (before.invisible && !v.invisible) attrs = attrs.filter((a) => a.kind !== "invisible");
	if (engine !== "mariadb" && attrs.some((a) => a.kind === "compressed")) {
		attrs = attrs.filter((a) => a.kind !== "compressed");
		changes.push("COMPRESSED dropped (column compression is MariaDB's own)");
	}
	const parts = [`${quoteId(destName)} ${typeText}${charsetClause}`];
	for (const a of attrs) {
		const text = rewritten.get(a);
		if (text !== undefined) {
			parts.push(text);
		} else if (a.kind === "check" && engine === "mariadb" && isKeyword(a.toks.at(-1), "ENFORCED")) {
			// MariaDB enforces every check and has no ENFORCED keyword
			if (isKeyword(a.toks.at(-2), "NOT")) {
				warnings.push(`the check of column ${p.name} is not created: it is NOT ENFORCED at the source`);
				continue;
			}
			parts.push(renameInExpression(a.toks.slice(0, -1), ctx.names));
		} else if (a.kind === "default" || a.kind === "onupdate" || a.kind === "generated" || a.kind === "check") {
			parts.push(renameInExpression(a.toks, ctx.names));
		} else if (a.kind === "references" && p.references) {
			const target = ctx.referenced(p.references.table);
			const cols = p.references.columns.map((col) => target?.columns.find((m) => lower(m.source) === lower(col)));
			if (!target || cols.some((col) => col === undefined)) {
				warnings.push(
					`the inline REFERENCES of column ${p.name} is not carried over: it references ${p.references.table.database}.${p.references.table.table}, whose table or columns are not migrated`,
				);
				continue;
			}
			const tail = a.toks.slice(referenceTailStart(a.toks));
			const list = cols.length > 0 ? ` (${cols.map((col) => quoteId(col?.destination as string)).join(", ")})` : "";
			parts.push(`REFERENCES ${quoteTable(target.destination)}${list}${tail.length ? ` ${joinTokens(tail)}` : ""}`);
		} else {
			parts.push(joinTokens(a.toks));
		}
	}
	return { sql: parts.join(" "), changes, warnings, refusal: verdict.refusal };
}

function referenceTailStart(toks: Tok[]): number {
	const i = toks.findIndex((t) => isKeyword(t, "MATCH", "ON"));
	return i === -1 ? toks.length : i;
}
