import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sourceCredentials } from "../support/databases.ts";
import { startTestStack } from "../support/stack.ts";

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
	afterAll(() => t?.close());

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

	it("tells the user to start the API when nothing listens", async () => {
		const failed = await run(FERRY, ["project", "list"], {
			env: { ...env, FERRY_API_URL: "http://127.0.0.1:1" },
		}).catch((e: { stderr: string }) => e);
		expect((failed as { stderr: string }).stderr).toMatch(
			/not reachable at http:\/\/127.0.0.1:1: start it with 'ferry local up'/,
		);
	});
});
