import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { quoteId } from "../../shared/db/sql.ts";
import {
	createDatabase,
	destinationCredentials,
	dropDatabase,
	execute,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { addLocalDataSources, startTestStack, waitFor } from "../support/stack.ts";

const run = promisify(execFile);
const FERRY = fileURLToPath(new URL("../../bin/ferry", import.meta.url));

describe("the ferry command line against a local API", () => {
	let t: Awaited<ReturnType<typeof startTestStack>>;
	let env: NodeJS.ProcessEnv;

	beforeAll(async () => {
		t = await startTestStack(1);
		env = {
			...process.env,
			FERRY_API_URL: t.stack.apiUrl,
			FERRY_API_TOKEN: t.stack.token,
			SRC_PW: sourceCredentials.password,
		};
	});
	const db = uniqueDatabase("cli_status");
	afterAll(async () => {
		await t?.close();
		await dropDatabase(db, sourceCredentials, destinationCredentials);
	});

	it("adds a data source with the password from a variable, lists it, and never prints the password", async () => {
		const added = await run(
			FERRY,
			[
				"datasource",
				"add",
				"--name",
				"cli src",
				"--engine",
				"mariadb",
				"--host",
				"127.0.0.1",
				"--port",
				String(sourceCredentials.port),
				"--user",
				sourceCredentials.user,
				"--password-env",
				"SRC_PW",
			],
			{ env },
		);
		const ds = JSON.parse(added.stdout) as { id: string; name: string };
		expect(ds.name).toBe("cli src");
		const listed = await run(FERRY, ["datasource", "list"], { env });
		expect(listed.stdout).toContain(ds.id);
		expect(added.stdout + listed.stdout).not.toContain(sourceCredentials.password);
	});

	it("explains an API refusal and exits non-zero", async () => {
		const failed = await run(FERRY, ["project", "status", "pr-nope"], { env }).catch(
			(e: { code: number; stderr: string }) => e,
		);
		expect((failed as { code: number }).code).toBe(1);
		expect((failed as { stderr: string }).stderr).toMatch(/error 404 NOT_FOUND: project 'pr-nope' does not exist/);
	});

	it("reaches the verification and switchover routes, with the API's refusals as errors", async () => {
		for (const args of [
			["verify", "start", "pr-nope", "--table", "db.t"],
			["verify", "results", "pr-nope"],
			["verify", "correct", "pr-nope"],
			["switchover", "start", "pr-nope", "--max-latency", "3"],
			["switchover", "writes-stopped", "pr-nope"],
		]) {
			const failed = await run(FERRY, args, { env }).catch((e: { code: number; stderr: string }) => e);
			expect((failed as { stderr: string }).stderr, args.join(" ")).toMatch(/error 404 NOT_FOUND: project 'pr-nope'/);
		}
		const bad = await run(FERRY, ["switchover", "start", "pr-nope", "--max-latency", "-1"], { env }).catch(
			(e: { stderr: string }) => e,
		);
		expect((bad as { stderr: string }).stderr).toMatch(/error 400 INVALID_BODY: .*maxLatencySeconds/);
	});

	it("calls with another role's token from --token-file, before FERRY_API_TOKEN, and refuses an unknown --role", async () => {
		const file = join(mkdtempSync(join(tmpdir(), "ferry-cli-")), "viewer-token");
		writeFileSync(file, `${t.stack.tokens.viewer}\n`, { mode: 0o600 });
		const refused = await run(FERRY, ["--token-file", file, "project", "create", "/dev/null"], { env }).catch(
			(e: { stderr: string }) => e,
		);
		expect((refused as { stderr: string }).stderr).toMatch(
			/error 403 FORBIDDEN: POST \/projects needs the operator role \(or higher\); local viewer is viewer/,
		);
		const listed = await run(FERRY, ["project", "list", "--token-file", file], { env });
		expect(JSON.parse(listed.stdout)).toEqual([]);
		const bad = await run(FERRY, ["--role", "root", "project", "list"], { env: { ...env, FERRY_API_TOKEN: "" } }).catch(
			(e: { stderr: string }) => e,
		);
		expect((bad as { stderr: string }).stderr).toMatch(/--role must be one of admin, operator, viewer, not 'root'/);
	});

	// last: the tests above expect no project
	it("shows a page of the tables, says which and how to see the next, and reads the verification's tables when they matter", async () => {
		await createDatabase(
			sourceCredentials,
			db,
			...["a", "b", "c"].flatMap((x) => [
				`CREATE TABLE ${x} (id INT PRIMARY KEY, v VARCHAR(10))`,
				`INSERT INTO ${x} SELECT seq, CONCAT('${x}', seq) FROM seq_1_to_20`,
			]),
		);
		const p = await t.api.post<{ id: string }>("/projects", {
			name: "cli status",
			...(await addLocalDataSources(t.api)),
			types: ["schema", "full", "verification"],
			objects: [{ database: db }],
		});
		await t.api.post(`/projects/${p.id}/actions/start`);
		const verified = async (run: number) =>
			waitFor(
				`verification run ${run}`,
				async () => {
					const s = await t.api.get<ProjectStatus>(`/projects/${p.id}/status?tablesLimit=0`);
					if (s.ticket) throw new Error(`ticket: ${s.ticket.message}`);
					const v = s.verification?.run;
					return v?.run === run && v.state === "done" ? v : undefined;
				},
				90_000,
			);
		await verified(1);
		const status = async (...args: string[]) =>
			(await run(FERRY, ["project", "status", p.id, ...args], { env })).stdout;

		const first = await status("--tables-limit", "2");
		expect(first).toContain(`tables 1-2 of 3 shown; next: ferry project status ${p.id} --tables-from 2`);
		expect(first).toContain(`${db}.a -> ${db}.a`);
		expect(first).not.toContain(`${db}.c -> `);
		// a clean run: its totals, not a line per table
		expect(first).toMatch(/verification run 1 done: 60 rows, 0 missing, 0 extra, 0 different/);
		expect(first).not.toContain(`${db}.a  chunks`);
		const last = await status("--tables-from", "2", "--tables-limit", "2");
		expect(last).toContain("tables 3-3 of 3 shown (");
		expect(last).toContain(`${db}.c -> ${db}.c`);
		expect(last).not.toContain(`${db}.a -> `);
		expect(await status()).toContain("all 3 tables shown");

		// a difference: the run's tables are read (GET /verification), those of the page shown
		await execute(destinationCredentials, `DELETE FROM ${quoteId(db)}.c WHERE id = 7`);
		await t.api.post(`/projects/${p.id}/verification`);
		await verified(2);
		const differing = await status("--tables-limit", "2");
		expect(differing).toContain(`differences in ${db}.c`);
		expect(differing).toContain("results of tables 1-2 of 3:");
		expect(differing).toMatch(new RegExp(`${db}\\.b  chunks 1/1  20 rows\n`));
		expect(await status("--tables-from", "2")).toMatch(new RegExp(`${db}\\.c  chunks 1/1  \\d+ rows  1 missing`));
		const json = JSON.parse(await status("--json", "--tables-limit", "0")) as ProjectStatus;
		expect(json.full).toMatchObject({ tables: [], tablesTotal: 3, tablesDone: 3, rowsCopied: 60 });
		expect(json.full?.rowsEstimate).toBeGreaterThanOrEqual(60);
		expect(json.verification?.tables.map((x) => x.table)).toEqual([`${db}.a`, `${db}.b`, `${db}.c`]);

		const refused = await status("--tables-limit", "501").catch((e: { stderr: string }) => e);
		expect((refused as { stderr: string }).stderr).toMatch(
			/error 400 INVALID_PAGE: tablesLimit must be a whole number from 0 to 500/,
		);
	}, 180_000);

	it("tells the user to start the API when nothing listens", async () => {
		const failed = await run(FERRY, ["project", "list"], {
			env: { ...env, FERRY_API_URL: "http://127.0.0.1:1" },
		}).catch((e: { stderr: string }) => e);
		expect((failed as { stderr: string }).stderr).toMatch(
			/not reachable at http:\/\/127.0.0.1:1: start it with 'ferry local up'/,
		);
	});
});
