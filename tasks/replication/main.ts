// The replication task (ECS Fargate in AWS, a child process in local mode): binlog capture and
// replay for one replication stream, named by FERRY_REPLICATION_ID (a project id for forward
// replay, `<project>.reverse` for the way back; shared/replication/stream.ts runs it).
// Exits 0 when the stream is no longer wanted (project paused, released, reverse deactivated),
// 2 when replay stopped on something a person must decide (see the project's ticket).
import { configFromEnv } from "../../shared/config.ts";
import { contextFrom } from "../../shared/context.ts";
import { logger } from "../../shared/observability.ts";
import { runReplication } from "../../shared/replication/stream.ts";

const replicationId = process.env.FERRY_REPLICATION_ID;
if (!replicationId) {
	logger.error("FERRY_REPLICATION_ID is not set");
	process.exit(1);
}
const stop = new AbortController();
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => stop.abort());
process.on("disconnect", () => stop.abort()); // local mode: the parent died

try {
	const outcome = await runReplication(contextFrom(configFromEnv()), replicationId, stop.signal);
	process.exit(outcome === "fatal" ? 2 : 0);
} catch (err) {
	logger.error("replication task failed", { replicationId, error: (err as Error).stack ?? String(err) });
	process.exit(1);
}
