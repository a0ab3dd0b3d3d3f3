// The replication task (ECS Fargate in AWS, a child process in local mode): binlog capture and
// replay for one project, named by FERRY_PROJECT_ID. Exits 0 when the project stops running,
// 2 when replay stopped on something a person must decide (see the project's ticket).
import { configFromEnv } from "../../shared/config.ts";
import { contextFrom } from "../../shared/control/context.ts";
import { logger } from "../../shared/observability.ts";
import { runReplication } from "./run.ts";

const projectId = process.env.FERRY_PROJECT_ID;
if (!projectId) {
	logger.error("FERRY_PROJECT_ID is not set");
	process.exit(1);
}
const stop = new AbortController();
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => stop.abort());
process.on("disconnect", () => stop.abort()); // local mode: the parent died

try {
	const outcome = await runReplication(contextFrom(configFromEnv()), projectId, stop.signal);
	process.exit(outcome === "fatal" ? 2 : 0);
} catch (err) {
	logger.error("replication task failed", { projectId, error: (err as Error).stack ?? String(err) });
	process.exit(1);
}
