import { describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { createDatabase, destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { refusal, useTestStack, waitForProject } from "../support/stack.ts";

describe("bad input gets a clear error and corrupts nothing", () => {
	const db = uniqueDatabase("bad");
	const hostileDb = `${uniqueDatabase("h")}\`'"ß✓`;
	const t = useTestStack({ workers: 1, databases: [db, hostileDb] });

	it("refuses malformed JSON, invalid bodies and unknown routes with 4xx", async () => {
		const raw = await fetch(`${t.stack.apiUrl}/projects`, {
			method: "POST",
			headers: { authorization: `Bearer ${t.stack.token}` },
			body: "{not json",
		});
		expect(raw.status).toBe(400);
		expect(((await raw.json()) as { error: { code: string } }).error.code).toBe("MALFORMED_JSON");
		const invalid = await refusal(
			t.api.post("/projects", {
				name: "",
				sourceId: 3,
				types: ["teleport"],
				objects: [],
			}),
		);
		expect(invalid.status).toBe(400);
		expect(invalid.message).toMatch(/name/);
		expect(invalid.message).toMatch(/types/);
		const extra = await refusal(
			t.api.post("/datasources", {
				...sourceCredentials,
				name: "x",
				engine: "mariadb",
				admin: true,
			}),
		);
		expect(extra.status).toBe(400);
		expect((await refusal(t.api.get("/nothing-here"))).status).toBe(404);
		expect((await refusal(t.api.get("/projects/pr-missing"))).code).toBe("NOT_FOUND");
		const unauth = await fetch(`${t.stack.apiUrl}/projects`);
		expect(unauth.status).toBe(401);
	});

	it("tests the connection before saving: wrong password, unreachable host", async () => {
		const wrong = await refusal(
			t.api.post("/datasources", {
				...sourceCredentials,
				name: "bad pw",
				engine: "mariadb",
				password: "not-the-password",
			}),
		);
		expect(wrong.status).toBe(422);
		expect(wrong.message).toMatch(/refused: check the user name and password/);
		expect(wrong.message).not.toContain("not-the-password");
		const unreachable = await refusal(
			t.api.post("/datasources", {
				...sourceCredentials,
				port: 1,
				name: "nowhere",
				engine: "mariadb",
			}),
		);
		expect(unreachable.message).toMatch(/nothing listens on 127.0.0.1:1/);
		const names = (await t.api.get<{ name: string }[]>("/datasources")).map((d) => d.name);
		expect(names).not.toContain("bad pw");
	});

	it("never returns or stores a password outside the secret store", async () => {
		const listed = JSON.stringify(await t.api.get("/datasources"));
		expect(listed).not.toContain(sourceCredentials.password);
		const shown = await t.api.get<Record<string, unknown>>(`/datasources/${t.ids.sourceId}`);
		expect(shown).not.toHaveProperty("password");
	});

	it("refuses migration types that need another, and deleting a data source in use", async () => {
		const lonely = await refusal(
			t.api.post("/projects", {
				name: "switch",
				...t.ids,
				types: ["full", "switchover"],
				objects: [{ database: db }],
			}),
		);
		expect(lonely.code).toBe("TYPE_COMBINATION");
		expect(lonely.message).toMatch(/switchover needs incremental/);
		const both = await refusal(
			t.api.post("/projects", {
				name: "two-way switch",
				...t.ids,
				types: ["full", "incremental", "switchover"],
				objects: [{ database: db }],
				options: { twoWay: true },
			}),
		);
		expect(both.message).toMatch(/two-way sync keeps both sides primary/);
		const projectId = await t.startProject({
			name: "holds",
			types: ["full"],
			objects: [{ database: "nope_db" }],
		});
		await t.api.post(`/projects/${projectId}/actions/pause`).catch(() => {});
		const inUse = await refusal(t.api.delete(`/datasources/${t.ids.sourceId}`));
		expect(inUse.status).toBe(409);
		expect(inUse.message).toMatch(/holds/);
	});

	it("a rule matching nothing stops the project at precheck with a ticket naming the rule", async () => {
		const projectId = await t.startProject({
			name: "unknown db",
			types: ["schema", "full"],
			objects: [{ database: "no_such_database_here", table: "*" }],
		});
		const status = await waitForProject(t.api, projectId, 30_000);
		expect(status.state).toBe("failed");
		expect(status.ticket?.step).toBe("precheck");
		expect(status.ticket?.message).toMatch(/no_such_database_here/);
	});

	it("a destination table that already has rows blocks the project and keeps its rows", async () => {
		const table = "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))";
		await createDatabase(sourceCredentials, db, table, "INSERT INTO t VALUES (1, 'source')");
		await createDatabase(destinationCredentials, db, table, "INSERT INTO t VALUES (1, 'precious'), (2, 'precious')");
		const projectId = await t.startProject({
			name: "occupied",
			types: ["schema", "full"],
			objects: [{ database: db }],
		});
		const status = await waitForProject(t.api, projectId, 30_000);
		expect(status.state).toBe("failed");
		expect(status.ticket?.message).toMatch(new RegExp(`${db}.*t.*rows`));
		const dst = await connect(destinationCredentials);
		const [rows] = await dst.query(`SELECT v FROM ${quoteId(db)}.t ORDER BY id`);
		expect(rows).toEqual([{ v: "precious" }, { v: "precious" }]);
		await dst.end();
	});

	it("migrates hostile identifiers (quotes, backticks, unicode) intact", async () => {
		const table = "we\"ird`tab'le ✓";
		const column = "col`\"'ü";
		await createDatabase(
			sourceCredentials,
			hostileDb,
			`CREATE TABLE ${quoteId(table)} (${quoteId(column)} INT PRIMARY KEY, \`x y\` TEXT)`,
			`INSERT INTO ${quoteId(table)} VALUES (1, 'a'), (2, '\\'; DROP TABLE x; --'), (3, NULL)`,
		);
		const projectId = await t.startProject({
			name: "hostile",
			types: ["schema", "full"],
			objects: [{ database: hostileDb }],
		});
		const status = await waitForProject(t.api, projectId, 60_000);
		expect(status.state, JSON.stringify(status.ticket)).toBe("completed");
		const report = await compareDatabases(sourceCredentials, destinationCredentials, hostileDb);
		expect(report.identical, report.lines.join("\n")).toBe(true);
	});
});
