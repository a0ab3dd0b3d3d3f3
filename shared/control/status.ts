import type { Context } from "../context.ts";
import { qualifiedName } from "../db/sql.ts";
import type { Direction, Project } from "../model/project.ts";
import { replicationId } from "../replication/ids.ts";
import { type StreamState, streamLiveness } from "../replication/liveness.ts";
import { chunkWait } from "../scheduler/chunks/lease.ts";
import { MAX_ATTEMPTS } from "../scheduler/chunks/lifecycle.ts";
import type { VerificationResults } from "../scheduler/verification-results.ts";
import { listChunks } from "../state/chunks.ts";
import { chunksPk } from "../state/keys.ts";
import { getProject } from "../state/projects.ts";
import { type ReplicationStatus, replicationStatus } from "../state/streams.ts";
import { listTables } from "../state/tables.ts";
import { verificationResults } from "./verification.ts";

export interface TableProgress {
	source: string;
	destination: string;
	rowsCopied: number;
	bytesCopied: number;
	rowsEstimate: number;
	chunksDone: number;
	chunksTotal: number;
	planned: boolean;
	errors: string[];
	/** What its chunks that are not done wait for, beyond their turn (scheduler/chunks/lease.ts `chunkWait`); the first few. */
	waiting: string[];
}

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
		tables: TableProgress[];
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

const MAX_WAITING_SHOWN = 5;

/** "Obtain the status of a migration project": what a DBA needs to see where it stands. */
export async function projectStatus(ctx: Context, id: string): Promise<ProjectStatus> {
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
		status.verification = await verificationResults(ctx, id);
	}
	if (project.switchover) status.switchover = project.switchover;
	const fullStep = project.steps.find((s) => s.name === "full");
	if (!fullStep || fullStep.state === "pending") return status;

	const [tables, chunks] = await Promise.all([listTables(ctx, id), listChunks(ctx, chunksPk(id))]);
	const byTable = new Map<number, TableProgress>(
		tables.map((t) => [
			t.index,
			{
				source: qualifiedName(t.mapping.source),
				destination: qualifiedName(t.mapping.destination),
				rowsCopied: 0,
				bytesCopied: 0,
				rowsEstimate: t.rowsEstimate,
				chunksDone: 0,
				chunksTotal: t.chunks,
				planned: t.planned,
				errors: [],
				waiting: [],
			},
		]),
	);
	let bytes = 0;
	for (const c of chunks) {
		const t = byTable.get(c.tableIndex);
		if (!t) continue;
		if (c.state === "done") {
			t.chunksDone += 1;
			t.rowsCopied += c.rows ?? 0;
			t.bytesCopied += c.bytes ?? 0;
			bytes += c.bytes ?? 0;
		} else {
			if (c.lastError) t.errors.push(`chunk ${c.sk} (attempt ${c.attempts}/${MAX_ATTEMPTS}): ${c.lastError}`);
			const wait = chunkWait(c);
			if (wait && t.waiting.length < MAX_WAITING_SHOWN) t.waiting.push(`chunk ${c.sk}: ${wait}`);
		}
	}
	const list = [...byTable.values()];
	const rows = list.reduce((n, t) => n + t.rowsCopied, 0);
	const estimate = list.reduce((n, t) => n + Math.max(t.rowsEstimate, t.rowsCopied), 0);
	const end = fullStep.finishedAt ? Date.parse(fullStep.finishedAt) : Date.now();
	const seconds = Math.max(0.001, (end - Date.parse(fullStep.startedAt ?? project.updatedAt)) / 1000);
	const allDone = list.every((t) => t.planned && t.chunksDone === t.chunksTotal);
	status.full = {
		rowsCopied: rows,
		bytesCopied: bytes,
		rowsPerSecond: Math.round(rows / seconds),
		bytesPerSecond: Math.round(bytes / seconds),
		percent: allDone ? 100 : estimate === 0 ? 0 : Math.min(99, Math.floor((rows / estimate) * 100)),
		tables: list,
	};
	return status;
}
