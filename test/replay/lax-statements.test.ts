import { describe, expect, it } from "vitest";
import type { RowChange, RowImage } from "../../shared/capture/change.ts";
import { insertBatcher, loadBatcher } from "../../shared/copy/batcher.ts";
import type { Connection } from "../../shared/db/connect.ts";
import {
	laxRowWriteSqlMode,
	refusesEnumErrorValue,
	rowWriteSqlMode,
	statementSqlMode,
} from "../../shared/db/session.ts";
import type { TableName } from "../../shared/model/rules.ts";
import { type BatchItem, OrderedBatch, TableBatch } from "../../shared/replay/batch.ts";
import { cascadeItems } from "../../shared/replay/cascades.ts";
import { buildReplayTable, type DestinationColumn, type ReplayTable } from "../../shared/replay/replay-table.ts";
import { formatStatement, rowStatements } from "../../shared/replay/statements.ts";

/*
 * ENUM's error value (index 0, read as '') is refused by strict mode where the ENUM has no ''
 * member: the statements that write it are marked to run under the lax mode, alone, and every
 * other statement (and row) keeps strict mode. No server: the SQL as generated.
 */

const T: TableName = { database: "d", table: "t" };

function column(name: string, columnType: string): DestinationColumn {
	const dataType = /^[a-z]+/.exec(columnType)?.[0] ?? "";
	const nullable = name !== "id";
	return { name, dataType, columnType, nullable, charset: "utf8mb4", collation: "utf8mb4_bin", generated: false };
}

/** `t` with `id`, `e` (no '' member), `f` (a '' member) and `v`; keyed unless `key` is false; `extra` an unmapped column. */
function table(options: { key?: boolean; extra?: boolean } = {}): ReplayTable {
	const columns = [
		column("id", "int(11)"),
		column("e", "enum('red','green')"),
		column("f", "enum('','x')"),
		column("v", "varchar(4)"),
	];
	return buildReplayTable(
		{ source: T, destination: T, columns: columns.map((c) => ({ source: c.name, destination: c.name })) },
		{
			columns: options.extra ? [...columns, column("extra", "int(11)")] : columns,
			indexes:
				options.key === false
					? []
					: [{ name: "PRIMARY", primary: true, unique: true, parts: [{ column: "id", length: null }] }],
		},
	);
}

const row = (id: number, e: string | number, f = "x"): RowImage => ({ id, e, f, v: "v" });
const ins = (after: RowImage): RowChange => ({ kind: "insert", table: T, after });
const upd = (before: RowImage, after: RowImage): RowChange => ({ kind: "update", table: T, before, after });

/** Items as `[lax, sql]`, for one assertion per batch. */
const shown = (items: BatchItem[]) => items.map((i) => [i.lax === true, i.sql]);

describe("statements that write ENUM's error value", () => {
	it("mark the ENUM columns that have no '' member", () => {
		expect(table().columns.map((c) => [c.destination, c.laxEnum])).toEqual([
			["id", false],
			["e", true],
			["f", false],
			["v", false],
		]);
		expect(refusesEnumErrorValue("enum", "enum('it''s','a')")).toBe(true);
		expect(refusesEnumErrorValue("enum", "enum('a','')")).toBe(false);
		expect(refusesEnumErrorValue("set", "set('a','b')")).toBe(false);
	});

	it("go apart from the compacted REPLACE of the other rows, '' and index 0 alike", () => {
		const batch = new TableBatch(table(), "safe", 1 << 20);
		for (const c of [ins(row(1, "red")), ins(row(2, "")), ins(row(3, "green", "")), ins(row(4, 0))]) batch.add(c);
		expect(shown(batch.take())).toEqual([
			[false, "REPLACE INTO `d`.`t` (`id`, `e`, `f`, `v`) VALUES (1, 'red', 'x', 'v'), (3, 'green', '', 'v')"],
			[true, "REPLACE INTO `d`.`t` (`id`, `e`, `f`, `v`) VALUES (2, '', 'x', 'v'), (4, 0, 'x', 'v')"],
		]);
	});

	it("split a multi-row REPLACE by size in both lists", () => {
		const batch = new TableBatch(table(), "safe", 10);
		for (const c of [ins(row(1, "")), ins(row(2, "")), ins(row(3, "red"))]) batch.add(c);
		const statements = batch.take().map((i) => [i.lax === true, i.sql.slice(i.sql.indexOf("VALUES"))]);
		expect(statements).toEqual([
			[true, "VALUES (1, '', 'x', 'v')"],
			[true, "VALUES (2, '', 'x', 'v')"],
			[false, "VALUES (3, 'red', 'x', 'v')"],
		]);
	});

	it("leave a plain multi-row INSERT for a statement of their own", () => {
		const batch = new OrderedBatch(table({ key: false }), "exact", 1 << 20);
		for (const c of [ins(row(1, "red")), ins(row(2, "")), ins(row(3, "red")), ins(row(4, "green"))]) batch.add(c);
		expect(shown(batch.take())).toEqual([
			[false, "INSERT INTO `d`.`t` (`id`, `e`, `f`, `v`) VALUES (1, 'red', 'x', 'v')"],
			[true, "INSERT INTO `d`.`t` (`id`, `e`, `f`, `v`) VALUES (2, '', 'x', 'v')"],
			[false, "INSERT INTO `d`.`t` (`id`, `e`, `f`, `v`) VALUES (3, 'red', 'x', 'v'), (4, 'green', 'x', 'v')"],
		]);
	});

	it("mark updates, IODKU and insert-if-absent by the values they write, never by a WHERE", () => {
		const lax = (change: RowChange, t: ReplayTable, mode: "safe" | "exact") =>
			rowStatements(change, t, mode).map((s) => [s.lax === true, formatStatement(s).split(" ")[0]]);
		// exact mode on a keyed table: an UPDATE
		expect(lax(upd(row(1, "red"), row(1, "")), table(), "exact")).toEqual([[true, "UPDATE"]]);
		expect(lax(upd(row(1, ""), row(1, "red")), table(), "exact")).toEqual([[false, "UPDATE"]]);
		// unmapped destination columns: IODKU
		expect(lax(upd(row(1, "red"), row(1, 0)), table({ extra: true }), "safe")).toEqual([[true, "INSERT"]]);
		expect(lax(ins(row(1, "")), table({ extra: true }), "exact")).toEqual([
			[false, "SELECT"],
			[true, "INSERT"],
		]);
		// no key: matched on the whole image (the old '' only in the WHERE), inserted if absent
		expect(lax(upd(row(1, ""), row(2, "")), table({ key: false }), "safe")).toEqual([
			[false, "DELETE"],
			[true, "INSERT"],
		]);
		expect(lax(upd(row(1, ""), row(1, "green")), table({ key: false }), "exact")).toEqual([[false, "UPDATE"]]);
	});

	it("move a child's foreign key to the parent's new key under the lax mode", () => {
		const parent = table();
		const key = {
			name: "fk",
			child: { database: "d", table: "child" },
			columns: ["pe"],
			referenced: ["e"],
			onDelete: "RESTRICT" as const,
			onUpdate: "CASCADE" as const,
		};
		const [toError] = cascadeItems(parent, [key], upd(row(1, "red"), row(1, "")), "exact");
		expect(toError).toEqual({ sql: "UPDATE `d`.`child` SET `pe` = '' WHERE `pe` = 'red'", lax: true });
		const [fromError] = cascadeItems(parent, [key], upd(row(1, ""), row(1, "red")), "exact");
		expect(fromError?.lax).toBeUndefined();
	});
});

describe("the lax mode of one statement", () => {
	const session = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";
	const strict = rowWriteSqlMode(session);
	const lax = laxRowWriteSqlMode(strict);

	it("is the row-write mode without strictness", () => {
		expect(strict).toMatch(/STRICT_ALL_TABLES/);
		expect(lax.split(",")).toEqual(strict.split(",").filter((m) => !m.startsWith("STRICT_")));
		expect(lax).toMatch(/NO_AUTO_VALUE_ON_ZERO/);
	});

	it("is MariaDB's SET STATEMENT", () => {
		const run = statementSqlMode("10.11.19-MariaDB-0+deb12u1-log", lax);
		expect(run("REPLACE INTO `d`.`t` VALUES (1, '')")).toBe(
			`SET STATEMENT sql_mode = '${lax}' FOR REPLACE INTO \`d\`.\`t\` VALUES (1, '')`,
		);
	});

	it("is MySQL's SET_VAR hint after the first keyword", () => {
		const run = statementSqlMode("8.0.36", lax);
		const hint = `/*+ SET_VAR(sql_mode = '${lax}') */`;
		expect(run("INSERT INTO `d`.`t` VALUES (1, '')")).toBe(`INSERT ${hint} INTO \`d\`.\`t\` VALUES (1, '')`);
		expect(run("REPLACE INTO `d`.`t` VALUES (1, '')")).toBe(`REPLACE ${hint} INTO \`d\`.\`t\` VALUES (1, '')`);
		expect(run("UPDATE `d`.`t` SET `e` = '' WHERE `id` = 1")).toBe(
			`UPDATE ${hint} \`d\`.\`t\` SET \`e\` = '' WHERE \`id\` = 1`,
		);
		expect(() => run("DELETE FROM `d`.`t`")).toThrow(/no per-statement sql_mode/);
	});
});

describe("the copy's batches", () => {
	/** A destination that records what it is sent and takes every row. */
	function recorder() {
		const sent: { sql: string; rows: unknown }[] = [];
		const conn = {
			query: async (sql: string | { sql: string }, values?: unknown[][]) => {
				if (typeof sql === "string") {
					sent.push({ sql, rows: values?.[0] });
					return [{ affectedRows: values?.[0]?.length ?? 0 }];
				}
				sent.push({ sql: sql.sql, rows: null });
				return [{ affectedRows: 2, warningStatus: 0 }];
			},
		};
		return { sent, conn: conn as unknown as Connection };
	}
	const laxRows = { columns: [false, true], sql: "LAX INSERT" };

	it("send rows holding the error value in an INSERT of their own", async () => {
		const batcher = insertBatcher("INSERT", laxRows);
		for (const r of [
			[1, "red"],
			[2, ""],
			[3, null],
		])
			batcher.add(r);
		expect(batcher.rows).toBe(3);
		const batch = batcher.take();
		expect(batch.rows).toBe(3);
		const { sent, conn } = recorder();
		await batch.send(conn);
		expect(sent).toEqual([
			{
				sql: "INSERT",
				rows: [
					[1, "red"],
					[3, null],
				],
			},
			{ sql: "LAX INSERT", rows: [[2, ""]] },
		]);
	});

	it("take LOAD DATA's rows with an empty ENUM out of the file, decoded as the insert method reads them", async () => {
		const batcher = loadBatcher("LOAD", 1024, [true, false], [false, false], laxRows);
		for (const r of [
			[Buffer.from("1"), Buffer.from("red")],
			[Buffer.from("2"), Buffer.alloc(0)],
			[Buffer.from("3"), null],
		])
			batcher.add(r);
		const batch = batcher.take();
		expect(batch.rows).toBe(3);
		const { sent, conn } = recorder();
		await batch.send(conn);
		expect(sent).toEqual([
			{ sql: "LOAD", rows: null },
			{ sql: "LAX INSERT", rows: [["2", ""]] },
		]);
	});
});
