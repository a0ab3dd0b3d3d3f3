/**
 * Every key of the state table, one line each: what a newcomer reads beside the table in
 * docs/architecture.md ("The state table"). Nothing else builds a `pk` or `sk`.
 */
import type { FormatKind } from "./format.ts";

export const dataSourceKey = (id: string) => ({ pk: "DATASOURCE", sk: id });
export const DATA_SOURCES_PK = "DATASOURCE";

export const projectKey = (id: string) => ({ pk: "PROJECT", sk: id });
export const PROJECTS_PK = "PROJECT";

/** One item per table of the project, resolved at precheck. */
export const tablesPk = (projectId: string) => `TABLES#${projectId}`;
export const tableSk = (index: number) => String(index).padStart(6, "0");

/** One item per copy chunk; a verification run's chunks have a partition of their own. */
export const chunksPk = (projectId: string) => `CHUNKS#${projectId}`;
export const verifyChunksPk = (projectId: string, run: number) => `VERIFY#${projectId}#${run}`;
export const chunkSk = (tableIndex: number, chunkIndex: number) =>
	`${tableSk(tableIndex)}#${String(chunkIndex).padStart(9, "0")}`;

/** Marks each table of a verification run as planned (all its chunk items exist), so planning resumes. */
export const verifyPlanPk = (projectId: string, run: number) => `VPLAN#${projectId}#${run}`;

/** A project's copy progress summed in one item (state/progress.ts). */
export const progressKey = (projectId: string) => ({ pk: `PROGRESS#${projectId}`, sk: "full" });
/** Where a chunk job's window starts (state/progress.ts): `window#copy`, or `window#verify#<run>`. */
export const chunkWindowKey = (projectId: string, job: string) => ({
	pk: `PROGRESS#${projectId}`,
	sk: `window#${job}`,
});

/** The schema report, in pages. */
export const reportPk = (projectId: string) => `REPORT#${projectId}`;

/** A replication stream's lease and status item (sk: the replication id, `<project>` or `<project>.reverse`). */
export const streamKey = (replicationId: string) => ({ pk: STREAMS_PK, sk: replicationId });
export const STREAMS_PK = "REPLICATION";

/** Where a synchronization stream to RocketMQ stands (sk: the replication id); Kafka keeps its own in Kafka. */
export const sinkCheckpointPk = (projectId: string) => `SINKCHECKPOINT#${projectId}`;

/** What the switchover reads from the source before changing it: `source` its triggers, `events` its enabled events. */
export const triggersPk = (projectId: string) => `TRIGGERS#${projectId}`;

/** A project's timeline (state/events.ts): sk is the event's ISO time and a random suffix, so items sort by time. */
export const eventsPk = (projectId: string) => `EVENTS#${projectId}`;
export const eventSk = (at: string, suffix: string) => `${at}#${suffix}`;

/**
 * The alert centre (shared/alerts/): alert settings (sk `defaults`, `project#<id>`, `webhook`), one
 * evaluation state item per project (its open alerts and undelivered notifications), and the
 * alert history per project (or `stack` for CloudWatch's stack-wide alarms), sorted by firing time.
 */
export const ALERT_SETTINGS_PK = "ALERTSETTINGS";
export const alertDefaultsKey = () => ({ pk: ALERT_SETTINGS_PK, sk: "defaults" });
export const alertProjectSettingsKey = (projectId: string) => ({ pk: ALERT_SETTINGS_PK, sk: `project#${projectId}` });
export const alertWebhookKey = () => ({ pk: ALERT_SETTINGS_PK, sk: "webhook" });
export const alertStateKey = (scope: string) => ({ pk: "ALERTSTATE", sk: scope });
export const alertsPk = (scope: string) => `ALERTS#${scope}`;
export const alertSk = (firedAt: string, id: string) => `${firedAt}#${id}`;

/** A project's single alert items (its partitions are in `projectPartitions`), deleted with it. */
export const projectAlertItems = (projectId: string) => [alertStateKey(projectId), alertProjectSettingsKey(projectId)];

/** Every partition that belongs to one project (but its item and its streams), for deleting it. */
export function projectPartitions(projectId: string, verificationRuns: number): string[] {
	const runs = Array.from({ length: verificationRuns }, (_, i) => i + 1);
	return [
		chunksPk(projectId),
		...runs.flatMap((run) => [verifyChunksPk(projectId, run), verifyPlanPk(projectId, run)]),
		tablesPk(projectId),
		progressKey(projectId).pk,
		reportPk(projectId),
		triggersPk(projectId),
		sinkCheckpointPk(projectId),
		eventsPk(projectId),
		alertsPk(projectId),
	];
}

/** A partition's name: its key before the first `#` (`CHUNKS#p1` -> `CHUNKS`). */
const partitionName = (pk: string) => pk.split("#")[0] as string;

/**
 * The kind of item each partition holds, for its format (state/format.ts): every partition above
 * has one, and a new partition needs its line here. Copy and verification chunks share a format.
 */
const PARTITION_KINDS = new Map<string, FormatKind>(
	(
		[
			[DATA_SOURCES_PK, "datasource"],
			[PROJECTS_PK, "project"],
			[tablesPk(""), "table"],
			[chunksPk(""), "chunk"],
			[verifyChunksPk("", 0), "chunk"],
			[verifyPlanPk("", 0), "verify-plan"],
			[reportPk(""), "report"],
			[STREAMS_PK, "stream"],
			[sinkCheckpointPk(""), "sink-checkpoint"],
			[triggersPk(""), "triggers"],
			[eventsPk(""), "event"],
			[ALERT_SETTINGS_PK, "alert-settings"],
			[alertStateKey("").pk, "alert-state"],
			[alertsPk(""), "alert"],
			[progressKey("").pk, "progress"],
		] as const
	).map(([pk, kind]) => [partitionName(pk), kind]),
);

/** The kind of the items of partition `pk`. */
export function itemKind(pk: string): FormatKind {
	const kind = PARTITION_KINDS.get(partitionName(pk));
	if (!kind) throw new Error(`state partition '${pk}' has no item kind (add it to keys.ts PARTITION_KINDS)`);
	return kind;
}
