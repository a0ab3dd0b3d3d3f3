import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BROKERS = ["@platformatic/kafka", "rocketmq-client-nodejs"];

/**
 * Template tests do not need the real handlers: a temporary source root (FerryProps.sourceRoot)
 * with stub entries and the package files bundling reads. Apps built on it set the context
 * `"aws:cdk:bundling-stacks": []` (no esbuild) and `builtinCloudFormationValidation: false` (slow).
 */
export function stubSourceRoot(name: string): { sourceRoot: string; remove: () => void } {
	const sourceRoot = mkdtempSync(join(tmpdir(), `ferry-${name}-`));
	writeFileSync(
		join(sourceRoot, "package-lock.json"),
		JSON.stringify({
			packages: Object.fromEntries(
				["@vlasky/zongji", ...BROKERS].map((pkg) => [`node_modules/${pkg}`, { version: "0.0.0-test" }]),
			),
		}),
	);
	// bundling installs the broker clients beside each function (functions.ts BROKER_CLIENTS): it reads this
	writeFileSync(
		join(sourceRoot, "package.json"),
		JSON.stringify({
			name: `ferry-${name}`,
			private: true,
			dependencies: Object.fromEntries(BROKERS.map((b) => [b, "0.0.0-test"])),
		}),
	);
	for (const fn of ["api", "scheduler", "chunk-worker"]) {
		mkdirSync(join(sourceRoot, "functions", fn), { recursive: true });
		writeFileSync(join(sourceRoot, "functions", fn, "handler.ts"), "export const handler = async () => {};\n");
	}
	return { sourceRoot, remove: () => rmSync(sourceRoot, { recursive: true, force: true }) };
}

/** The App options those tests synthesize with. */
export const FAST_APP = {
	context: { "aws:cdk:bundling-stacks": [] },
	builtinCloudFormationValidation: false,
} as const;
