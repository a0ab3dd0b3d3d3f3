import { describe, expect, it } from "vitest";
import type { ColumnInfo } from "../../shared/db/introspect.ts";
import {
	itemExpr,
	lengthFramed,
	normalisedExpr,
	rowExpr,
	type ServerFeatures,
	type ValueKind,
	valueKind,
} from "../../shared/verify/normalise.ts";
import { column } from "../support/capture-rows.ts";

/**
 * The row expression the chunk checksum hashes (normalise.ts `itemExpr`, `rowExpr`), evaluated
 * without a server: a small evaluator of the SQL it is built from (CONCAT_WS, CONCAT, IFNULL,
 * LENGTH, CHAR, column references) with MariaDB's semantics on bytes. Rows that must compare as
 * different must give different bytes: NULL against '', values moved across a column boundary,
 * the separator byte inside values of the length-framed kinds. (test/verify/framing.test.ts
 * shows the same on real servers; this one shows it for every framing the generator can choose.)
 */

type Bytes = Buffer | null;

/** Evaluates `sql` (the subset the row expression uses) with `row` giving the columns' values. */
function evaluate(sql: string, row: Record<string, Bytes>): Bytes {
	let at = 0;
	const skip = () => {
		while (sql[at] === " ") at++;
	};
	const expression = (): Bytes => {
		skip();
		if (sql[at] === "`") {
			const end = sql.indexOf("`", at + 1);
			const name = sql.slice(at + 1, end);
			at = end + 1;
			if (!(name in row)) throw new Error(`no column ${name}`);
			return row[name] ?? null;
		}
		if (sql[at] === "'") {
			const end = sql.indexOf("'", at + 1);
			const text = sql.slice(at + 1, end);
			at = end + 1;
			return Buffer.from(text);
		}
		const m = /^([A-Z_]+)\(/.exec(sql.slice(at));
		if (!m?.[1]) throw new Error(`cannot evaluate ${sql.slice(at)}`);
		at += m[0].length;
		const args: Bytes[] = [];
		for (;;) {
			if (sql[at] === ")") break;
			const n = /^\d+/.exec(sql.slice(at));
			if (n) {
				args.push(Buffer.from(n[0]));
				at += n[0].length;
			} else args.push(expression());
			skip();
			if (sql[at] === ",") at++;
			skip();
		}
		at++;
		switch (m[1]) {
			case "CHAR":
				return Buffer.from([Number(args[0]?.toString())]);
			case "IFNULL":
				return args[0] ?? args[1] ?? null;
			case "LENGTH":
				return args[0] === null || args[0] === undefined ? null : Buffer.from(String(args[0].length));
			case "CONCAT":
				return args.some((a) => a === null) ? null : Buffer.concat(args as Buffer[]);
			case "CONCAT_WS": {
				// MariaDB skips NULL arguments after the separator
				const [separator, ...rest] = args;
				const present = rest.filter((a): a is Buffer => a !== null);
				const out: Buffer[] = [];
				for (const [i, a] of present.entries()) {
					if (i > 0) out.push(separator as Buffer);
					out.push(a);
				}
				return Buffer.concat(out);
			}
			default:
				throw new Error(`the evaluator has no ${m[1]}`);
		}
	};
	const out = expression();
	if (at !== sql.length) throw new Error(`left over: ${sql.slice(at)}`);
	return out;
}

const FEATURES: ServerFeatures = { mariadb: true, crc32c: true, jsonNormalize: true };

/** The row expression over two columns of these types, both sides of the same type. */
function rowSql(columns: ColumnInfo[]): string {
	return rowExpr(
		columns.map((c) => {
			const kind: ValueKind = valueKind(c, false);
			return itemExpr(normalisedExpr(kind, c, FEATURES, c), lengthFramed(kind, kind, c, c), c.nullable);
		}),
	);
}

const b = (s: string | number[] | null): Bytes => (s === null ? null : Buffer.from(s as string));

describe("the row bytes the checksum hashes (no server)", () => {
	const framings: [string, ColumnInfo[]][] = [
		[
			"UTF-8 text, unframed",
			[column("a", "varchar", { charset: "utf8mb4" }), column("b", "varchar", { charset: "utf8mb4" })],
		],
		[
			"latin1 text on both sides, length-framed",
			[column("a", "varchar", { charset: "latin1" }), column("b", "varchar", { charset: "latin1" })],
		],
		["binary, length-framed", [column("a", "varbinary"), column("b", "varbinary")]],
		[
			"NOT NULL UTF-8 text",
			[
				column("a", "varchar", { charset: "utf8mb4", nullable: false }),
				column("b", "varchar", { charset: "utf8mb4", nullable: false }),
			],
		],
	];

	it("builds items by the rules: NULL checks only where a column may be NULL, length framing only for raw bytes", () => {
		const [utf8, , binary, notNull] = framings.map(([, c]) => rowSql(c));
		expect(utf8).toBe("CONCAT_WS(CHAR(255), IFNULL(`a`, CHAR(254)), IFNULL(`b`, CHAR(254)))");
		expect(binary).toBe(
			"CONCAT_WS(CHAR(255), IFNULL(CONCAT(LENGTH(`a`), ':', `a`), CHAR(254)), IFNULL(CONCAT(LENGTH(`b`), ':', `b`), CHAR(254)))",
		);
		expect(notNull).toBe("CONCAT_WS(CHAR(255), `a`, `b`)");
	});

	for (const [what, columns] of framings) {
		const sql = rowSql(columns);
		const bytes = (a: Bytes, c: Bytes) => evaluate(sql, { a, b: c });
		const nullable = columns.every((c) => c.nullable);
		const framed = sql.includes("LENGTH");
		it(`keeps rows apart that a weaker encoding would merge: ${what}`, () => {
			const pairs: [Bytes, Bytes, Bytes, Bytes][] = [
				// a column boundary moved
				[b("ab"), b("c"), b("a"), b("bc")],
				[b(""), b("abc"), b("abc"), b("")],
				[b("1"), b("23"), b("12"), b("3")],
			];
			if (nullable) {
				pairs.push([null, b(""), b(""), null], [null, b("x"), b("x"), null], [null, null, b(""), b("")]);
				// the NULL item's byte as a value (possible only where values are raw bytes)
				if (framed) pairs.push([null, b("a"), b([254]), b("a")]);
			}
			if (framed) {
				// the separator byte inside values: only length framing keeps these apart
				pairs.push([b([0x61, 0xff]), b("b"), b("a"), b([0xff, 0x62])], [b([0xff]), b(""), b(""), b([0xff])]);
			}
			for (const [a1, b1, a2, b2] of pairs) {
				const one = bytes(a1, b1);
				const two = bytes(a2, b2);
				expect(one, `${sql}: (${a1}, ${b1}) vs (${a2}, ${b2})`).not.toBeNull();
				expect(one?.equals(two as Buffer), `(${a1}, ${b1}) vs (${a2}, ${b2}) give the same bytes`).toBe(false);
			}
			// and equal rows give equal bytes
			expect(bytes(b("ab"), b("c"))?.equals(bytes(b("ab"), b("c")) as Buffer)).toBe(true);
		});
	}

	it("shows what the framing prevents: without it, a moved boundary and NULL against '' collide", () => {
		const naive = "CONCAT_WS(CHAR(255), `a`, `b`)";
		expect(evaluate(naive, { a: b("a"), b: b([0xff, 0x62]) })).toEqual(
			evaluate(naive, { a: b([0x61, 0xff]), b: b("b") }),
		);
		expect(evaluate(naive, { a: null, b: b("x") })).toEqual(evaluate(naive, { a: b("x"), b: null }));
	});
});
