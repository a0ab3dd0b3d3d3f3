import { defineConfig } from "vitest/config";

/**
 * Tests that stop and start a server (a database, the Kafka broker) or change its global settings
 * run alone, after all the others.
 */
const RESTARTS = [
	"test/e2e/incremental-chaos.test.ts",
	"test/capture/restart.test.ts",
	"test/e2e/sync-kafka.test.ts",
	"test/verify/packet-overflow.test.ts",
];
/**
 * The console's tests drive Chromium, which takes a core of its own: they run after the main
 * group, so they do not slow the replication tests beside them into timeouts, two files at a time
 * (one per core).
 */
const BROWSER = ["test/console/**/*.test.ts"];

export default defineConfig({
	test: {
		globalSetup: ["test/global-setup.ts"],
		testTimeout: 60_000,
		hookTimeout: 60_000,
		// metrics go to stdout as embedded-metric JSON: tests read them from the code, never from the log
		env: { POWERTOOLS_METRICS_DISABLED: "true" },
		reporters: ["default"],
		projects: [
			{
				extends: true,
				test: {
					name: "main",
					include: ["test/**/*.test.ts"],
					exclude: [...RESTARTS, ...BROWSER],
					// integration tests share the database servers and a 2-core machine
					maxWorkers: 2,
					sequence: { groupOrder: 0 },
				},
			},
			{
				extends: true,
				test: { name: "browser", include: BROWSER, maxWorkers: 2, sequence: { groupOrder: 1 } },
			},
			{
				extends: true,
				test: { name: "restarts", include: RESTARTS, fileParallelism: false, sequence: { groupOrder: 2 } },
			},
		],
	},
});
