import { escapeValue, quoteId, quoteTable } from "../db/sql.ts";
import {
	APPROXIMATE_TYPES,
	BINARY_STRING_TYPES,
	DECIMAL_TYPES,
	INTEGER_TYPES,
	TEMPORAL_TYPES,
	TEXT_TYPES,
} from "../db/types.ts";
import type { Engine } from "../model/datasource.ts";
import { lower, type TableName } from "../model/rules.ts";
import { convertIndex } from "../schema/dialect/tables.ts";
import type { IndexKind, IndexSchema } from "../schema/snapshot.ts";
import { unquoteStringLiteral } from "../schema/sqltext.ts";
import type { ColumnContext } from "./column.ts";
import { renameInExpression } from "./expression.ts";
import { type Cursor, DdlSyntaxError, isKeyword, joinTokens, type Tok } from "./parse.ts";

/**
 * Index, key, foreign key and check definitions of CREATE TABLE and ALTER TABLE, read and
 * written for the destination like columns are (column.ts).
 */

export interface IndexPartDef {
	column?: string;
	/** A functional key part's expression tokens (without its parentheses). */
	expression?: Tok[];
	length: string | null;
	order: "ASC" | "DESC" | null;
}

export type ParsedConstraint =
	| {
			kind: IndexKind;
			name?: string;
			/** Written after CONSTRAINT, for a primary or unique key. */
			symbol?: string;
			ifNotExists: boolean;
			using?: string;
			parts: IndexPartDef[];
			comment?: string;
			visibility?: "IGNORED" | "INVISIBLE" | "VISIBLE" | "NOT IGNORED";
			/** Options passed through: KEY_BLOCK_SIZE, WITH PARSER, CLUSTERING, ENGINE_ATTRIBUTE... */
			options: string[];
	  }
	| {
			kind: "foreign";
			symbol?: string;
			name?: string;
			ifNotExists: boolean;
			columns: string[];
			table: TableName;
			referencedColumns: string[];
			tail: string;
	  }
	| { kind: "check"; symbol?: string; expression: Tok[]; tail: string }
	| { kind: "period" };

/** Does the cursor stand at a table-level constraint rather than a column? */
export function atConstraint(c: Cursor): boolean {
	const t = c.peek();
	if (t?.kind !== "word") return false;
	if (c.at("PERIOD", "FOR")) return true;
	if (isKeyword(t, "INDEX", "KEY", "FULLTEXT", "SPATIAL", "UNIQUE", "FOREIGN", "CHECK")) {
		// `key int` is a column named key; a constraint is followed by a name, a "(" or a keyword.
		return !(c.peek(1)?.kind === "word" && isTypeWord(c.peek(1) as Tok) && !isKeyword(t, "UNIQUE", "FOREIGN"));
	}
	return isKeyword(t, "CONSTRAINT") || (isKeyword(t, "PRIMARY") && isKeyword(c.peek(1), "KEY"));
}

/** Words that begin a column type: the catalogue's types (one word each) and the parser's other spellings. */
const TYPE_WORDS = new Set([
	...INTEGER_TYPES,
	...DECIMAL_TYPES,
	...APPROXIMATE_TYPES,
	"bit",
	"bool",
	"boolean",
	"char",
	"varchar",
	...BINARY_STRING_TYPES,
	...TEXT_TYPES,
	"enum",
	"set",
	"json",
	...TEMPORAL_TYPES,
	"uuid",
	"inet4",
	"inet6",
	"geometry",
	"point",
]);

function isTypeWord(t: Tok): boolean {
	return TYPE_WORDS.has(t.text.toLowerCase());
}

/** Reads a table-level index, key, foreign key or check to the cursor's end. */
export function parseConstraint(c: Cursor, tableDb: string): ParsedConstraint {
	if (c.accept("PERIOD", "FOR")) {
		c.skipUntil(() => false);
		return { kind: "period" };
	}
	let symbol: string | undefined;
	if (c.accept("CONSTRAINT")) {
		if (!c.at("PRIMARY") && !c.at("UNIQUE") && !c.at("FOREIGN") && !c.at("CHECK"))
			symbol = c.identifier("a constraint name");
	}
	if (c.accept("CHECK")) {
		const inner = c.group();
		const expression = c.toks.slice(inner[0], inner[1]) as Tok[];
		const tail = c.text(c.skipUntil(() => false));
		return { kind: "check", ...(symbol !== undefined ? { symbol } : {}), expression, tail };
	}
	const ifNotExists = () => c.accept("IF", "NOT", "EXISTS");
	const optionalName = (): string | undefined =>
		c.isIdentifier() && !c.at("USING") && !c.at("TYPE") && !c.isPunct("(") ? c.identifier("an index name") : undefined;
	if (c.accept("FOREIGN", "KEY")) {
		const ine = ifNotExists();
		const name = optionalName();
		const cols = columnList(c);
		c.expect("REFERENCES");
		const table = c.tableName(tableDb);
		const referencedColumns = columnList(c);
		const tail = c.text(c.skipUntil(() => false));
		return {
			kind: "foreign",
			...(symbol !== undefined ? { symbol } : {}),
			...(name !== undefined ? { name } : {}),
			ifNotExists: ine,
			columns: cols,
			table,
			referencedColumns,
			tail,
		};
	}
	let kind: IndexKind;
	if (c.accept("PRIMARY", "KEY")) kind = "primary";
	else if (c.accept("UNIQUE")) {
		c.acceptOneOf("INDEX", "KEY");
		kind = "unique";
	} else if (c.accept("FULLTEXT")) {
		c.acceptOneOf("INDEX", "KEY");
		kind = "fulltext";
	} else if (c.accept("SPATIAL")) {
		c.acceptOneOf("INDEX", "KEY");
		kind = "spatial";
	} else if (c.acceptOneOf("INDEX", "KEY")) kind = "index";
	else throw new DdlSyntaxError(`expected an index or constraint ${c.where()}`);
	const ine = ifNotExists();
	const name = kind === "primary" ? undefined : optionalName();
	let using: string | undefined;
	if (c.accept("USING") || c.accept("TYPE")) using = c.identifier("an index type").toUpperCase();
	const parts = keyParts(c);
	const tail = indexOptions(c);
	return {
		kind,
		...(name !== undefined ? { name } : {}),
		...(symbol !== undefined ? { symbol } : {}),
		ifNotExists: ine,
		...((tail.using ?? using) ? { using: tail.using ?? using } : {}),
		parts,
		...(tail.comment !== undefined ? { comment: tail.comment } : {}),
		...(tail.visibility ? { visibility: tail.visibility } : {}),
		options: tail.options,
	};
}

function columnList(c: Cursor): string[] {
	const inner = c.sub(c.group());
	return inner.splitCommas().map((part) => inner.sub(part).identifier("a column name"));
}

export function keyParts(c: Cursor): IndexPartDef[] {
	const inner = c.sub(c.group());
	return inner.splitCommas().map((range) => {
		const p = inner.sub(range);
		let part: IndexPartDef;
		if (p.isPunct("(")) {
			const expr = p.group();
			part = { expression: p.toks.slice(expr[0], expr[1]) as Tok[], length: null, order: null };
		} else {
			const column = p.identifier("a key column");
			let length: string | null = null;
			if (p.isPunct("(")) length = p.text(p.group());
			part = { column, length, order: null };
		}
		const order = p.acceptOneOf("ASC", "DESC");
		if (order === "ASC" || order === "DESC") part.order = order;
		if (!p.done()) throw new DdlSyntaxError(`unexpected text in a key part ${p.where()}`);
		return part;
	});
}

interface IndexTail {
	using?: string;
	comment?: string;
	visibility?: "IGNORED" | "INVISIBLE" | "VISIBLE" | "NOT IGNORED";
	options: string[];
}

/** Index options after the key parts; ALGORITHM and LOCK (of CREATE INDEX) are dropped. */
export function indexOptions(c: Cursor): IndexTail {
	const tail: IndexTail = { options: [] };
	while (!c.done()) {
		const from = c.i;
		if (c.accept("USING")) tail.using = c.identifier("an index type").toUpperCase();
		else if (c.accept("COMMENT")) {
			c.acceptEquals();
			const t = c.next();
			if (t.kind !== "string") throw new DdlSyntaxError("expected the index comment as a string");
			tail.comment = unquoteStringLiteral(t.text);
		} else if (c.accept("NOT", "IGNORED")) tail.visibility = "NOT IGNORED";
		else if (c.accept("IGNORED")) tail.visibility = "IGNORED";
		else if (c.accept("INVISIBLE")) tail.visibility = "INVISIBLE";
		else if (c.accept("VISIBLE")) tail.visibility = "VISIBLE";
		else if (c.accept("WITH", "PARSER")) {
			c.next();
			tail.options.push(c.text([from, c.i]));
		} else if (c.acceptOneOf("KEY_BLOCK_SIZE", "CLUSTERING", "ENGINE_ATTRIBUTE", "SECONDARY_ENGINE_ATTRIBUTE")) {
			c.acceptEquals();
			c.next();
			tail.options.push(c.text([from, c.i]));
		} else if (c.acceptOneOf("ALGORITHM", "LOCK")) {
			c.acceptEquals();
			c.next();
		} else if (c.acceptOneOf("ONLINE", "OFFLINE")) {
			// MySQL NDB's leftovers: no meaning elsewhere.
		} else {
			throw new DdlSyntaxError(`unknown index option ${c.where()}`);
		}
	}
	return tail;
}

export interface RenderedConstraint {
	/** The definition, or null when it is not created at the destination (see `skipped`). */
	sql: string | null;
	skipped?: string;
	refusal?: string;
	changes: string[];
	warnings: string[];
}

const KIND_KEYWORD: Record<IndexKind, string> = {
	primary: "PRIMARY KEY",
	unique: "UNIQUE KEY",
	index: "KEY",
	fulltext: "FULLTEXT KEY",
	spatial: "SPATIAL KEY",
};

/**
 * A constraint for the destination: key columns and referenced tables mapped, converted by the
 * dialect rules. `ifNotExists` adds MariaDB's IF NOT EXISTS to keys and foreign keys.
 */
export function renderConstraint(def: ParsedConstraint, ctx: ColumnContext, ifNotExists: boolean): RenderedConstraint {
	const engine = ctx.dialect.destination.engine;
	const ine = ifNotExists && engine === "mariadb" ? " IF NOT EXISTS" : "";
	if (def.kind === "period")
		return { sql: null, refusal: "application-time periods are not migrated", changes: [], warnings: [] };
	if (def.kind === "check") {
		const missing = def.expression
			.filter((t) => t.kind === "quoted" && ctx.names(t.name as string) === undefined)
			.map((t) => t.name as string);
		const symbol = def.symbol !== undefined ? `CONSTRAINT ${quoteId(def.symbol)} ` : "";
		if (missing.length > 0) {
			return {
				sql: null,
				skipped: `${`check ${def.symbol ?? ""}`.trim()} is not created: it reads column(s) ${missing.join(", ")}, which the object rules leave out`,
				changes: [],
				warnings: [],
			};
		}
		let tail = def.tail;
		if (engine === "mariadb" && /^ENFORCED$/i.test(tail)) tail = "";
		if (engine === "mariadb" && /^NOT\s+ENFORCED$/i.test(tail)) {
			// an enforced copy would refuse rows the source takes
			return {
				sql: null,
				skipped: `${`check ${def.symbol ?? ""}`.trim()} is not created: it is NOT ENFORCED at the source, and MariaDB enforces every check`,
				changes: [],
				warnings: [],
			};
		}
		return {
			sql: `${symbol}CHECK (${renameInExpression(def.expression, ctx.names)})${tail ? ` ${tail}` : ""}`,
			changes: [],
			warnings: [],
		};
	}
	if (def.kind === "foreign") {
		const label = `foreign key ${def.symbol ?? def.name ?? ""}`.trim();
		const cols = def.columns.map((c) => ctx.names(c));
		const target = ctx.referenced(def.table);
		const refCols = def.referencedColumns.map(
			(c) => target?.columns.find((m) => lower(m.source) === lower(c))?.destination,
		);
		if (cols.some((c) => c === undefined)) {
			return {
				sql: null,
				skipped: `${label} is not created: it covers a column the object rules leave out`,
				changes: [],
				warnings: [],
			};
		}
		if (!target || refCols.some((c) => c === undefined)) {
			return {
				sql: null,
				skipped: `${label} is not created: it references ${def.table.database}.${def.table.table}, whose table or columns are not migrated`,
				changes: [],
				warnings: [],
			};
		}
		const symbol = def.symbol !== undefined ? `CONSTRAINT ${quoteId(def.symbol)} ` : "";
		// With both, the source names the constraint and its index after the symbol; MariaDB with
		// foreign_key_checks off (as replay runs) would name the constraint after the index name.
		const name = def.name !== undefined && def.symbol === undefined ? ` ${quoteId(def.name)}` : "";
		const list = (names: (string | undefined)[]) => names.map((n) => quoteId(n as string)).join(", ");
		return {
			sql: `${symbol}FOREIGN KEY${ine}${name} (${list(cols)}) REFERENCES ${quoteTable(target.destination)} (${list(refCols)})${def.tail ? ` ${def.tail}` : ""}`,
			changes: [],
			warnings: [],
		};
	}
	const label = def.kind === "primary" ? "the primary key" : `index ${def.name ?? "(unnamed)"}`;
	const missing = def.parts
		.filter((p) => p.column !== undefined && ctx.names(p.column) === undefined)
		.map((p) => p.column);
	if (missing.length > 0) {
		const why = `it covers column(s) ${missing.join(", ")}, which the object rules leave out`;
		return def.kind === "primary"
			? { sql: null, refusal: `${label}: ${why}`, changes: [], warnings: [] }
			: { sql: null, skipped: `${label} is not created: ${why}`, changes: [], warnings: [] };
	}
	const schema: IndexSchema = {
		name: def.name ?? "",
		kind: def.kind,
		parts: def.parts.map((p) => ({
			column: p.column ?? "",
			length: p.length === null ? null : Number(p.length),
			descending: p.order === "DESC",
			...(p.expression ? { expression: joinTokens(p.expression) } : {}),
		})),
		hash: def.using === "HASH",
		comment: def.comment ?? "",
		invisible: def.visibility === "IGNORED" || def.visibility === "INVISIBLE",
	};
	const verdict = convertIndex(schema, ctx.dialect);
	if (verdict.refusal) {
		const text = `${label}: ${verdict.refusal}`;
		return def.kind === "primary"
			? { sql: null, refusal: text, changes: [], warnings: [] }
			: { sql: null, skipped: `${label} is not created: ${verdict.refusal}`, changes: [], warnings: [] };
	}
	const v = verdict.value;
	const parts = def.parts
		.map((p, k) => {
			const target = p.expression
				? `(${renameInExpression(p.expression, ctx.names)})`
				: quoteId(ctx.names(p.column as string) as string);
			const order = v.parts[k]?.descending ? " DESC" : p.order === "ASC" ? " ASC" : "";
			return `${target}${p.length !== null ? `(${p.length})` : ""}${order}`;
		})
		.join(", ");
	// `CONSTRAINT c UNIQUE (a)` names the key c
	let name = def.name ?? (def.kind === "primary" ? undefined : def.symbol);
	// An unnamed key is named after its first column by the server: keep the source's name when that column is renamed.
	const firstColumn = def.parts[0]?.column;
	if (
		name === undefined &&
		def.kind !== "primary" &&
		firstColumn !== undefined &&
		ctx.names(firstColumn) !== firstColumn
	) {
		name = firstColumn;
	}
	let sql = def.kind === "primary" ? "PRIMARY KEY" : `${KIND_KEYWORD[def.kind]}${ine}`;
	if (name !== undefined) sql += ` ${quoteId(name)}`;
	if (def.using) sql += ` USING ${def.using}`;
	sql += ` (${parts})`;
	if (def.comment !== undefined) sql += ` COMMENT ${escapeValue(def.comment)}`;
	for (const o of def.options) sql += ` ${o}`;
	if (v.invisible) sql += ` ${engine === "mariadb" ? "IGNORED" : "INVISIBLE"}`;
	return {
		sql,
		changes: verdict.changes.map((c) => `${label}: ${c.what} (${c.why})`),
		warnings: verdict.warnings.map((w) => `${label}: ${w}`),
	};
}

/** The destination keyword for index visibility. */
export function visibilityKeyword(v: "IGNORED" | "INVISIBLE" | "VISIBLE" | "NOT IGNORED", engine: Engine): string {
	const hidden = v === "IGNORED" || v === "INVISIBLE";
	if (engine === "mariadb") return hidden ? "IGNORED" : "NOT IGNORED";
	return hidden ? "INVISIBLE" : "VISIBLE";
}
