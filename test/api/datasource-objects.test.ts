import { describe, expect, it } from "vitest";
import { FerryClient } from "../../shared/api/client.ts";
import type { DataSourceObjects } from "../../shared/control/datasource-objects.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { createDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { refusal, useTestStack } from "../support/stack.ts";

/** GET /datasources/{id}/objects: the create wizard's tree of a source's databases and tables. */
describe("a data source's databases and tables, through the API", () => {
	const db = uniqueDatabase("projects_objects");
	// a name that would break out of a quoted identifier or a string literal if pasted into SQL
	const hostile = `${db}_x\`'; DROP DATABASE x; --`;
	const hostileTable = "t`' OR 1=1 --";
	const t = useTestStack({
		workers: 1,
		seed: async () => {
			await createDatabase(
				sourceCredentials,
				db,
				"CREATE TABLE orders (id INT PRIMARY KEY, total INT, note TEXT)",
				"INSERT INTO orders VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c')",
				"ANALYZE TABLE orders",
				"CREATE TABLE codes (code VARCHAR(8) NOT NULL, UNIQUE KEY (code))",
				"CREATE TABLE loose (v INT)",
				// unique, but over a nullable column or a prefix: the copy cannot use it as a key
				"CREATE TABLE nullable_unique (email VARCHAR(80) NULL, UNIQUE KEY (email))",
				"CREATE TABLE prefix_unique (name VARCHAR(80) NOT NULL, UNIQUE KEY (name(10)))",
				"CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 15",
			);
			await createDatabase(sourceCredentials, hostile, `CREATE TABLE ${quoteId(hostileTable)} (id INT PRIMARY KEY)`);
		},
		databases: [db, hostile],
	});

	it("lists each database's tables and views with kind, estimated rows, key and columns, hiding the system schemas", async () => {
		const answer = await t.api.get<DataSourceObjects>(`/datasources/${t.ids.sourceId}/objects`);
		expect(answer.dataSourceId).toBe(t.ids.sourceId);
		const names = answer.databases.map((d) => d.name);
		for (const hidden of ["mysql", "sys", "information_schema", "performance_schema", "ferry_meta"]) {
			expect(names).not.toContain(hidden);
		}
		const mine = answer.databases.find((d) => d.name === db);
		// estimates are InnoDB's sampled statistics: a whole number, exact only for a view (0)
		const rows = expect.any(Number);
		expect(mine?.tables).toEqual([
			{ name: "big_orders", kind: "view", rowsEstimate: 0, hasKey: false, columns: ["id", "total"] },
			{ name: "codes", kind: "table", rowsEstimate: rows, hasKey: true, columns: ["code"] },
			{ name: "loose", kind: "table", rowsEstimate: rows, hasKey: false, columns: ["v"] },
			{ name: "nullable_unique", kind: "table", rowsEstimate: rows, hasKey: false, columns: ["email"] },
			{ name: "orders", kind: "table", rowsEstimate: rows, hasKey: true, columns: ["id", "total", "note"] },
			{ name: "prefix_unique", kind: "table", rowsEstimate: rows, hasKey: false, columns: ["name"] },
		]);
		for (const t of mine?.tables ?? []) expect(Number.isInteger(t.rowsEstimate) && t.rowsEstimate >= 0).toBe(true);
	});

	it("reads hostile database and table names as data (bound values, quoted identifiers)", async () => {
		const answer = await t.api.get<DataSourceObjects>(`/datasources/${t.ids.sourceId}/objects`);
		const odd = answer.databases.find((d) => d.name === hostile);
		expect(odd?.tables).toEqual([
			{ name: hostileTable, kind: "table", rowsEstimate: expect.any(Number), hasKey: true, columns: ["id"] },
		]);
	});

	it("refuses a message queue (it has no tables) and an unknown data source with a clear 4xx, and lets a viewer read", async () => {
		const kafka = await t.api.post<{ id: string }>("/datasources", {
			name: "queue",
			engine: "kafka",
			brokers: [(process.env.FERRY_KAFKA_BROKERS ?? "127.0.0.1:19092").split(",")[0]],
		});
		const broker = await refusal(t.api.get(`/datasources/${kafka.id}/objects`));
		expect(broker.status).toBe(422);
		expect(broker.code).toBe("NOT_A_DATABASE");
		expect(broker.message).toContain("message queue, not a database");
		const missing = await refusal(t.api.get("/datasources/ds-nope/objects"));
		expect(missing.status).toBe(404);
		const viewer = new FerryClient(t.stack.apiUrl, t.stack.tokens.viewer);
		const read = await viewer.get<DataSourceObjects>(`/datasources/${t.ids.sourceId}/objects`);
		expect(read.databases.some((d) => d.name === db)).toBe(true);
	});
});
