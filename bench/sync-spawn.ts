/**
 * Starting Ferry's contender of bench/sync.ts (bench/sync-ferry.ts) in a process of its own.
 * Timed runs use an esbuild bundle made the way the replication task's image is made
 * (cdk/task-image.ts: one ESM file, @vlasky/zongji beside it, plain `node`), so the figures are
 * those of the code that ships rather than of tsx (whose keepNames wrappers alone cost the
 * Debezium format about a fifth). @platformatic/wasm-utils stays outside too: it reads its
 * .wasm file relative to its own module.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { buildSync } from "esbuild";
import type { FerryReport, FerrySetup } from "./sync-ferry.ts";

const REPO = join(import.meta.dirname, "..");
/** Inside the repository, so that the bundle resolves @vlasky/zongji from its node_modules. */
export const BUNDLE = join(REPO, "bench/.build/sync-ferry.mjs");

/** Bundles bench/sync-ferry.ts with the task image's esbuild settings (not timed). */
export function bundleFerry(): void {
	buildSync({
		entryPoints: [join(REPO, "bench/sync-ferry.ts")],
		outfile: BUNDLE,
		bundle: true,
		platform: "node",
		target: "node24",
		format: "esm",
		external: ["@vlasky/zongji", "@platformatic/wasm-utils"],
		banner: {
			js: 'import { createRequire as ferryRequire } from "node:module"; const require = ferryRequire(import.meta.url);',
		},
		logLevel: "warning",
	});
}

export interface FerryProcess {
	/** Resolves with the child's report and the (performance.now) time it arrived. */
	done: Promise<{ report: FerryReport; at: number }>;
	/** Asks a streaming (no `until`) child to report and stop. */
	stop: () => void;
	/** Waits for the child's exit (killed after 30 s). */
	finished: () => Promise<void>;
	child: ChildProcess;
}

/** Starts the bundle; with `profileDir`, under `node --cpu-prof` writing into that directory. */
export function spawnFerry(setup: FerrySetup, profileDir?: string): FerryProcess {
	const flags = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
	const child = spawn(process.execPath, [...flags, BUNDLE, JSON.stringify(setup)], {
		cwd: REPO,
		stdio: ["ignore", "inherit", "inherit", "ipc"],
	});
	const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
	const done = new Promise<{ report: FerryReport; at: number }>((resolve, reject) => {
		child.on("message", (m) => resolve({ report: m as FerryReport, at: performance.now() }));
		child.on("error", reject);
		void exited.then((code) => reject(new Error(`Ferry's process exited (${code}) before it was done`)));
	});
	const finished = async () => {
		const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
		await exited;
		clearTimeout(timer);
	};
	return { done, stop: () => child.send("stop"), finished, child };
}
