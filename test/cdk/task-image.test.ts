import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { writeReplicationTaskContext } from "../../cdk/task-image.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the capture-replay image's build directory (docker itself cannot run here)", () => {
	const dir = mkdtempSync(join(tmpdir(), "ferry-image-"));
	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	it("bundles tasks/replication into one file that starts and reaches the state table", async () => {
		writeReplicationTaskContext(root, dir);
		expect(readFileSync(join(dir, "Dockerfile"), "utf8")).toMatch(/CMD \["node", "main.mjs"\]/);
		const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
		expect(Object.keys(pkg.dependencies)).toEqual(["@vlasky/zongji", "@platformatic/kafka", "rocketmq-client-nodejs"]);
		expect(existsSync(join(dir, "main.mjs"))).toBe(true);
		// what `npm install` puts beside it in the image
		symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
		const out = await run(process.execPath, [join(dir, "main.mjs")], {
			cwd: dir,
			env: {
				PATH: process.env.PATH,
				FERRY_REPLICATION_ID: "pr-image",
				FERRY_STATE_TABLE: "state",
				FERRY_COPY_QUEUE_URL: "http://127.0.0.1:9/copy",
				FERRY_VERIFY_QUEUE_URL: "http://127.0.0.1:9/verify",
				FERRY_DYNAMODB_ENDPOINT: "http://127.0.0.1:9",
				AWS_REGION: "us-east-1",
				AWS_ACCESS_KEY_ID: "test",
				AWS_SECRET_ACCESS_KEY: "test",
				POWERTOOLS_METRICS_DISABLED: "true",
			},
		}).catch((e: { code: number; stdout: string; stderr: string }) => e);
		// it loaded every module (zongji's patches included) and failed only on the unreachable table
		expect((out as { code?: number }).code).toBe(1);
		expect(out.stdout + out.stderr).toMatch(/replication task failed.*ECONNREFUSED 127\.0\.0\.1:9/);
	}, 60_000);
});
