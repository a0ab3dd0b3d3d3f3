import type { TableName } from "../model/rules.ts";
import { type ParsedColumn, parseColumn } from "./column.ts";
import { atConstraint, type ParsedConstraint, parseConstraint } from "./constraint.ts";
import { type Cursor, DdlSyntaxError, isKeyword, type Tok } from "./parse.ts";
import type { DdlForm } from "./support.ts";
import { nameValue, parseTableOptions, type TableOptions } from "./table-options.ts";

/** The clauses of ALTER TABLE, read one by one (alter.ts decides what each becomes). */

export type Spec =
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

export function parseSpec(c: Cursor, db: string): Spec {
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
		// `ALGORITHM=COPY PARTITION BY …`: the partitioning clause needs no comma before it
		c.skipUntil((t) => t.kind === "word" && t.text.toUpperCase() === "PARTITION");
		if (c.at("PARTITION")) return partition();
		return { op: "noop", what: text() };
	}
	const options = parseTableOptions(c);
	if (c.at("PARTITION")) return partition();
	if (options.versioning) return { op: "refuse", form: "ALTER TABLE ... SYSTEM VERSIONING", what: text() };
	return { op: "options", options };
}
