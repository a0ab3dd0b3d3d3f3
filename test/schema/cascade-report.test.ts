import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { planSchema } from "../../shared/schema/plan.ts";
import { checkSchemaPrerequisites } from "../../shared/schema/precheck.ts";
import { readSchema } from "../../shared/schema/read.ts";
import { resolveObjects } from "../../shared/schema/resolve.ts";
import { destinationCredentials, freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";

/** The schema report and precheck say how foreign keys with ON DELETE/ON UPDATE actions are handled. */
describe("foreign-key actions in the schema report and precheck", () => {
	const db = uniqueDatabase("fkreport");
	let source: Connection;
	let destination: Connection;

	beforeAll(async () => {
		source = await freshDatabase(sourceCredentials, db);
		for (const sql of [
			"CREATE TABLE parent (id INT PRIMARY KEY)",
			"CREATE TABLE child (id INT PRIMARY KEY, pid INT, CONSTRAINT fk_child FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE SET NULL)",
			"CREATE TABLE plain (id INT PRIMARY KEY, pid INT, CONSTRAINT fk_plain FOREIGN KEY (pid) REFERENCES parent (id))",
			"CREATE TABLE tmp_owner (id INT PRIMARY KEY)",
			"CREATE TABLE orphaned (id INT PRIMARY KEY, oid INT, CONSTRAINT fk_owner FOREIGN KEY (oid) REFERENCES tmp_owner (id) ON DELETE CASCADE)",
		]) {
			await source.query(sql);
		}
		destination = await connect(destinationCredentials);
	});

	afterAll(async () => {
		await source?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await source?.end();
		await destination?.end();
	});

	it("a migrated cascading key says replay redoes it; one whose parent is left out says the destination would keep rows the source lost", async () => {
		const rules = [
			{ database: db, table: "*", exclude: false },
			{ database: db, table: "tmp_*", exclude: true },
		];
		const mappings = await resolveObjects(source, rules);
		const snapshot = await readSchema(
			source,
			mappings.map((m) => m.source),
			[],
		);
		const plan = planSchema(snapshot, mappings, "mariadb");
		const entry = (name: string) => plan.report.find((e) => e.kind === "foreignKey" && e.object.endsWith(name));
		expect(entry("fk_child")?.warnings.join("\n")).toMatch(
			/ON DELETE CASCADE, ON UPDATE SET NULL: the source's binlog does not carry the rows this action changes; incremental replay redoes it/,
		);
		expect(entry("fk_plain")?.warnings).toEqual([]);
		expect(entry("fk_owner")?.status).toBe("refused");
		expect(entry("fk_owner")?.reason).toMatch(/ON DELETE CASCADE changes at the source do not reach the destination/);
		const findings = await checkSchemaPrerequisites(destination, snapshot, plan);
		const finding = findings.find((f) => f.object.endsWith("fk_owner"));
		expect(finding?.level).toBe("warning");
		expect(finding?.message).toMatch(/destination keeps rows the source lost/);
	});
});
