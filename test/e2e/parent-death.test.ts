import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const STACK_PROCESS = fileURLToPath(new URL("../support/stack-process.ts", import.meta.url));

/** Whether a process is alive: it exists and is not a zombie waiting for its new parent to reap it. */
function alive(pid: number): boolean {
	try {
		return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
	} catch {
		return false;
	}
}

/**
 * `ferry local up` killed outright (SIGKILL, a crash): its copy workers lose the embedded queue
 * servers with it. They must exit, quietly: no ECONNREFUSED stack on the user's terminal.
 */
describe("copy workers whose parent dies", () => {
	const home = mkdtempSync(join(tmpdir(), "ferry-parent-death-"));
	afterAll(() => rmSync(home, { recursive: true, force: true }));

	it("exit without printing a stack", async () => {
		const parent = spawn(process.execPath, ["--import", "tsx", STACK_PROCESS, home, "2"], {
			stdio: ["ignore", "pipe", "pipe"],
		});
		let out = "";
		let err = "";
		parent.stdout.on("data", (d: Buffer) => {
			out += d.toString();
		});
		// the workers write to the same pipe: it closes once the last of them has exited
		const closed = new Promise<void>((resolve) => parent.stderr.on("close", () => resolve()));
		parent.stderr.on("data", (d: Buffer) => {
			err += d.toString();
		});
		const deadline = Date.now() + 60_000;
		while (!out.includes("workers") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
		const { workers } = JSON.parse(out.trim().split("\n").pop() ?? "{}") as { workers: number[] };
		expect(workers).toHaveLength(2);
		// let the workers poll their queues for a while
		await new Promise((r) => setTimeout(r, 2000));
		parent.kill("SIGKILL");

		const outcome = await Promise.race([
			closed.then(() => "exited"),
			new Promise((r) => setTimeout(() => r("still running"), 20_000)),
		]);
		// a worker's pipes close while it exits, a moment before the kernel marks it a zombie
		for (let i = 0; i < 25 && workers.some(alive); i++) await new Promise((r) => setTimeout(r, 200));
		const survivors = workers.filter(alive);
		for (const pid of survivors) process.kill(pid, "SIGKILL");
		expect(outcome).toBe("exited");
		expect(survivors).toEqual([]);
		expect(err).not.toMatch(/ECONNREFUSED/);
		expect(err).not.toMatch(/^\s+at /m);
	}, 90_000);
});
