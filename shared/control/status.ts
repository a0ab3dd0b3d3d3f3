import type { Context } from "../context.ts";
import type { Direction, Project } from "../model/project.ts";
import { replicationId } from "../replication/ids.ts";
import { type StreamState, streamLiveness } from "../replication/liveness.ts";
import { fullProgress, type TableProgress, tablesProgress } from "../scheduler/chunks/progress.ts";
import type { VerificationResults } from "../scheduler/verification-results.ts";
import { type ChunkItem, listChunks } from "../state/chunks.ts";
import { chunksPk, tableSk, tablesPk } from "../state/keys.ts";
import { type FullProgress, getFullProgress } from "../state/progress.ts";
import { getProject } from "../state/projects.ts";
import type { Stored } from "../state/store.ts";
import { type ReplicationStatus, replicationStatus } from "../state/streams.ts";
import { listTables, type TableItem } from "../state/tables.ts";
import { verificationResults } from "./verification.ts";

export type { TableProgress };

export interface ProjectStatus {
	id: string;
	name: string;
	state: Project["state"];
	steps: Project["steps"];
	ticket?: Project["ticket"];
	/** Forward replay (source -> destination); a synchronization project's stream to its broker (rows/s: row messages/s). */
	incremental?: StreamStatus;
	/** Reverse replay (destination -> source), after switchover or in two-way mode. */
	reverse?: StreamStatus;
	verification?: VerificationResults;
	switchover?: Project["switchover"];
	full?: {
		rowsCopied: number;
		bytesCopied: number;
		rowsPerSecond: number;
		bytesPerSecond: number;
		percent: number;
		/** The tables' row estimates summed (each at least its rows copied): what the copy's overall ETA counts down. */
		rowsEstimate: number;
		/** Every table's progress, or one page of them when the caller asked for a page. */
		tables: TableProgress[];
		/** The index of `tables`' first table among the project's (0 without a page). */
		tablesFrom: number;
		tablesTotal: number;
		/** Tables planned with every chunk copied. */
		tablesDone: number;
	};
}

export interface StreamStatus {
	/** A synchronization stream says "snapshot" while it sends its tables' rows (its target's safe mode). */
	phase: ReplicationStatus["phase"] | "snapshot" | "not started";
	/** Whether the stream applies changes now (stream-state.ts); `stateReason` says why not. */
	state: StreamState;
	stateReason?: string;
	/** Grows while the stream is not running (stream-state.ts `StreamLiveness`). */
	latencySeconds?: number;
	/** Zero while the stream is not running. */
	rowsPerSecond: number;
	bytesPerSecond: number;
	/** Totals since the stream first started, across task restarts. */
	transactions: number;
	rows: number;
	inconsistencies: number;
	position?: ReplicationStatus["position"];
	/** Seconds since the replication task last reported. */
	heartbeatAgeSeconds?: number;
	lastError?: string;
}

async function streamStatus(ctx: Context, project: Project, direction: Direction): Promise<StreamStatus> {
	const r = await replicationStatus(ctx, replicationId(project.id, direction));
	const live = streamLiveness(project, direction, r);
	const running = live.state === "running";
	return {
		phase: project.sync && r?.phase === "safe" ? "snapshot" : (r?.phase ?? "not started"),
		state: live.state,
		stateReason: live.reason,
		latencySeconds: live.latencySeconds,
		rowsPerSecond: running ? (r?.rowsPerSecond ?? 0) : 0,
		bytesPerSecond: running ? (r?.bytesPerSecond ?? 0) : 0,
		transactions: r?.transactions ?? 0,
		rows: r?.rows ?? 0,
		inconsistencies: r?.inconsistencies ?? 0,
		position: r?.position,
		heartbeatAgeSeconds: live.heartbeatAgeSeconds,
		lastError: r?.fatal?.message ?? r?.lastError,
	};
}

/**
 * One page of the tables (`from`: the first table's index; `limit` of them) instead of all: the
 * status of a project of thousands of tables then reads a page of table and chunk items and the
 * copy's totals from one summary item, not every item (decisions/2026-12-06-many-tables.md).
 */
export interface TablesPage {
	from: number;
	limit: number;
}

/** "Obtain the status of a migration project": what a DBA needs to see where it stands. */
export async function projectStatus(ctx: Context, id: string, page?: TablesPage): Promise<ProjectStatus> {
	const project = await getProject(ctx, id);
	const status: ProjectStatus = {
		id,
		name: project.name,
		state: project.state,
		steps: project.steps,
		ticket: project.ticket,
	};
	const incrementalStep = project.steps.find((s) => s.name === "incremental" || s.name === "sync");
	if (incrementalStep && incrementalStep.state !== "pending") {
		status.incremental = await streamStatus(ctx, project, "forward");
	}
	if (project.reverse?.startPosition) status.reverse = await streamStatus(ctx, project, "reverse");
	if (project.verification) {
		// a page asks for the run alone: its tables' results are GET /projects/{id}/verification's
		status.verification = page ? { run: project.verification, tables: [] } : await verificationResults(ctx, id);
	}
	if (project.switchover) status.switchover = project.switchover;
	const fullStep = project.steps.find((s) => s.name === "full");
	if (!fullStep || fullStep.state === "pending") return status;

	const summary = page ? await getFullProgress(ctx, id) : undefined;
	let tables: TableProgress[];
	let totals: FullProgress;
	if (page && summary) {
		tables = await tablesPage(ctx, id, page);
		totals = summary;
	} else {
		const [all, chunks] = await Promise.all([listTables(ctx, id), listChunks(ctx, chunksPk(id))]);
		tables = tablesProgress(all, chunks);
		totals = fullProgress(tables);
		if (page) tables = tables.slice(page.from, page.from + page.limit);
	}
	const end = fullStep.finishedAt ? Date.parse(fullStep.finishedAt) : Date.now();
	const seconds = Math.max(0.001, (end - Date.parse(fullStep.startedAt ?? project.updatedAt)) / 1000);
	const rows = totals.rowsCopied;
	status.full = {
		rowsCopied: rows,
		bytesCopied: totals.bytesCopied,
		rowsPerSecond: Math.round(rows / seconds),
		bytesPerSecond: Math.round(totals.bytesCopied / seconds),
		percent: totals.allDone
			? 100
			: totals.rowsEstimate === 0
				? 0
				: Math.min(99, Math.floor((rows / totals.rowsEstimate) * 100)),
		rowsEstimate: totals.rowsEstimate,
		tables,
		tablesFrom: page?.from ?? 0,
		tablesTotal: totals.tablesTotal,
		tablesDone: totals.tablesDone,
	};
	return status;
}

/** The tables of one page and the chunks of those tables only (chunk keys begin with their table's key). */
async function tablesPage(ctx: Context, id: string, page: TablesPage): Promise<TableProgress[]> {
	if (page.limit === 0) return [];
	const tables: Stored<TableItem>[] = [];
	const after = page.from > 0 ? tableSk(page.from - 1) : undefined;
	for await (const t of ctx.store.query<TableItem>(tablesPk(id), "", { after, pageSize: page.limit })) {
		tables.push(t);
		if (tables.length >= page.limit) break;
	}
	const first = tables[0];
	const last = tables.at(-1);
	if (!first || !last) return [];
	const chunks: Stored<ChunkItem>[] = [];
	// "000012" sorts just before "000012#000000000": the page's first table's chunks come first
	// pages about the size of the tables' page: most tables have a chunk or two, and a read past the last table is waste
	const from = { after: tableSk(first.index), pageSize: page.limit + 8 };
	for await (const c of ctx.store.query<ChunkItem>(chunksPk(id), "", from)) {
		if (c.tableIndex > last.index) break;
		chunks.push(c);
	}
	return tablesProgress(tables, chunks);
}
