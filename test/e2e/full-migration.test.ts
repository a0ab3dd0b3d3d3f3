import { describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { destinationCredentials, sampleDatabases, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitForProject } from "../support/stack.ts";

describe("schema + full migration through the API in local mode", () => {
	const db = uniqueDatabase("e2e");
	const renamed = `${db}_r`;
	const t = useTestStack({ seed: () => sampleDatabases(sourceCredentials, 0.05, db), databases: [db, renamed] });

	it("migrates every table, index, key and view; the destination is identical by query", async () => {
		const projectId = await t.startProject({
			name: "whole database",
			types: ["schema", "full"],
			objects: [{ database: db, table: "*" }],
			options: { parallelism: 3, chunkRows: 1000 },
		});
		const status = await waitForProject(t.api, projectId);
		expect(status.state, JSON.stringify(status.ticket)).toBe("completed");
		expect(status.full?.percent).toBe(100);
		expect(status.full?.tables.map((x) => x.source).sort()).toEqual(
			["audit_log", "customers", "order_items", "orders", "products"].map((n) => `${db}.${n}`),
		);
		const report = await compareDatabases(sourceCredentials, destinationCredentials, db);
		expect(report.lines.join("\n")).not.toMatch(/DIFFERENT|missing|extra|!=/);
		expect(report.identical).toBe(true);
	});

	it("applies renames, row filters and column selection exactly as asked", async () => {
		const projectId = await t.startProject({
			name: "renamed subset",
			types: ["schema", "full"],
			objects: [
				{
					database: db,
					table: "customers",
					renameDatabase: renamed,
					renameTable: "clients",
					where: "country = 'JP'",
					columns: ["id", "email", "country"],
					renameColumns: { email: "mail" },
				},
				{
					database: db,
					table: "products",
					renameDatabase: renamed,
					where: "price > 100",
				},
			],
			options: { parallelism: 2, chunkRows: 700 },
		});
		const status = await waitForProject(t.api, projectId);
		expect(status.state, JSON.stringify(status.ticket)).toBe("completed");

		const src = await connect(sourceCredentials);
		const dst = await connect(destinationCredentials);
		const [a] = await src.query(
			`SELECT id, email AS mail, country FROM ${quoteId(db)}.customers WHERE country = 'JP' ORDER BY id`,
		);
		const [b] = await dst.query(`SELECT id, mail, country FROM ${quoteId(renamed)}.clients ORDER BY id`);
		expect(b).toEqual(a);
		const [cols] = await dst.query(
			"SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'clients' ORDER BY ORDINAL_POSITION",
			[renamed],
		);
		expect((cols as { c: string }[]).map((r) => r.c)).toEqual(["id", "mail", "country"]);
		const sum =
			"SELECT COUNT(*) AS n, SUM(CRC32(CONCAT_WS('|', sku, title, price, weight, ratio, HEX(image), released, daily_at, flags + 0))) AS s";
		const [oa] = await src.query(`${sum} FROM ${quoteId(db)}.products WHERE price > 100`);
		const [ob] = await dst.query(`${sum} FROM ${quoteId(renamed)}.products`);
		expect(ob).toEqual(oa);
		expect(Number((oa as { n: string }[])[0]?.n)).toBeGreaterThan(0);
		await src.end();
		await dst.end();
	});
});
