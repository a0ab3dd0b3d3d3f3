import type { Context } from "../context.ts";
import type { MetricStream } from "../metrics/series.ts";
import type { Direction, Project, Ticket } from "../model/project.ts";
import type { QueueStats } from "../ports.ts";
import { addCounts, type TableChangeCounts } from "../replay/table-counts.ts";
import { parseReplicationId, replicationId } from "../replication/ids.ts";
import { type StreamState, streamLiveness } from "../replication/liveness.ts";
import { getProject, listProjects } from "../state/projects.ts";
import { listReplicationStatuses, type ReplicationStatus, replicationStatus } from "../state/streams.ts";
import { projectStatus } from "./status.ts";

/** The lists the console shows beside a project's own pages: open tickets, components, per-table statistics. */

export interface OpenTicket {
	projectId: string;
	projectName: string;
	ticket: Ticket;
}

/** Every open ticket across projects (OMS's O&M tickets), newest first. */
export async function openTickets(ctx: Context): Promise<OpenTicket[]> {
	return (await listProjects(ctx))
		.flatMap((p) => (p.ticket ? [{ projectId: p.id, projectName: p.name, ticket: p.ticket }] : []))
		.sort((a, b) => b.ticket.openedAt.localeCompare(a.ticket.openedAt));
}

export interface ReplicationTask {
	replicationId: string;
	projectId: string;
	projectName: string;
	stream: MetricStream;
	/** Whether it applies changes now, and why not (replication/liveness.ts). */
	state: StreamState;
	stateReason?: string;
	heartbeatAgeSeconds?: number;
	latencySeconds?: number;
	/** Where the task is in its session: starting, running, retrying, ended. */
	session?: ReplicationStatus["session"];
	phase: ReplicationStatus["phase"];
	position?: ReplicationStatus["position"];
	/** The task holding the stream's lease (host, process, random suffix). */
	owner: string;
	/** The runtime parameters replay applies with now. */
	tuning?: ReplicationStatus["tuning"];
	lastError?: string;
}

export interface Components {
	replicationTasks: ReplicationTask[];
	queues: ({ name: "copy" | "verify" } & QueueStats)[];
}

/** The replication tasks of the projects that have not been released, and the chunk workers' queues. */
export async function components(ctx: Context): Promise<Components> {
	const [projects, statuses, copy, verify] = await Promise.all([
		listProjects(ctx),
		listReplicationStatuses(ctx),
		ctx.copyQueue.stats(),
		ctx.verifyQueue.stats(),
	]);
	const byId = new Map(projects.map((p) => [p.id, p]));
	const replicationTasks: ReplicationTask[] = [];
	for (const [id, r] of statuses) {
		const { projectId, direction } = parseReplicationId(id);
		const project = byId.get(projectId);
		if (!project || project.state === "released") continue;
		replicationTasks.push(task(project, direction, r));
	}
	return {
		replicationTasks,
		queues: [
			{ name: "copy", ...copy },
			{ name: "verify", ...verify },
		],
	};
}

function task(project: Project, direction: Direction, r: ReplicationStatus): ReplicationTask {
	const live = streamLiveness(project, direction, r);
	return {
		replicationId: replicationId(project.id, direction),
		projectId: project.id,
		projectName: project.name,
		stream: project.sync ? "sink" : direction,
		state: live.state,
		stateReason: live.reason,
		heartbeatAgeSeconds: live.heartbeatAgeSeconds,
		latencySeconds: live.latencySeconds,
		session: r.session,
		phase: r.phase,
		position: r.position,
		owner: r.owner,
		tuning: r.tuning,
		lastError: r.fatal?.message ?? r.lastError,
	};
}

/** One table's statistics, as AWS DMS's table statistics show them. */
export interface TableStatistics {
	source: string;
	destination: string;
	copy?: { rows: number; bytes: number; rowsEstimate: number; chunksDone: number; chunksTotal: number; errors: number };
	/** What replay applied to it, forward and reverse added up. */
	replay?: TableChangeCounts;
	verification?: {
		rowsChecked: number;
		missing: number;
		extra: number;
		different: number;
		chunksDone: number;
		chunksTotal: number;
	};
}

/** Per table: copy, replay (inserts, updates, deletes, DDL) and the current verification run's results. */
export async function tableStatistics(ctx: Context, id: string): Promise<TableStatistics[]> {
	const project = await getProject(ctx, id);
	const [status, forward, reverse] = await Promise.all([
		projectStatus(ctx, id),
		replicationStatus(ctx, replicationId(id, "forward")),
		replicationStatus(ctx, replicationId(id, "reverse")),
	]);
	const stats = new Map<string, TableStatistics>();
	const of = (source: string, destination: string) => {
		const s = stats.get(source) ?? { source, destination };
		stats.set(source, s);
		return s;
	};
	for (const t of status.full?.tables ?? []) {
		of(t.source, t.destination).copy = {
			rows: t.rowsCopied,
			bytes: t.bytesCopied,
			rowsEstimate: t.rowsEstimate,
			chunksDone: t.chunksDone,
			chunksTotal: t.chunksTotal,
			errors: t.errors.length,
		};
	}
	for (const t of status.verification?.tables ?? []) {
		const { rowsChecked, missing, extra, different, chunksDone, chunksTotal } = t;
		of(t.table, t.destination).verification = { rowsChecked, missing, extra, different, chunksDone, chunksTotal };
	}
	// reverse replay counts by the destination's names: each counts for its source table
	const sourceOf = new Map((status.full?.tables ?? []).map((t) => [t.destination, t.source]));
	const reversed = Object.fromEntries(
		Object.entries(reverse?.tables ?? {}).map(([table, c]) => [sourceOf.get(table) ?? table, c]),
	);
	for (const [table, counts] of Object.entries(addCounts(addCounts({}, forward?.tables), reversed))) {
		// a table the copy did not have (created later), or the overflow entry: its mapping is not listed
		(stats.get(table) ?? of(table, project.sync ? "" : table)).replay = counts;
	}
	return [...stats.values()];
}
