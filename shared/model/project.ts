import { z } from "zod";
import type { SourcePosition } from "../binlog/position.ts";
import { ChangeFeed } from "./feed.ts";
import { OPTION_RANGES, type RangedOption, TAG_LIMITS } from "./option-ranges.ts";
import { ObjectRules } from "./rules.ts";
import { SyncOptions } from "./sync.ts";

/** The migration types a user ticks per project, in OMS's terms. */
export const MigrationType = z.enum(["schema", "full", "incremental", "verification", "switchover", "reverse"]);
export type MigrationType = z.infer<typeof MigrationType>;

const ranged = (option: RangedOption) => z.number().int().min(OPTION_RANGES[option].min).max(OPTION_RANGES[option].max);

export const ProjectOptions = z
	.object({
		/** Chunks copied at once for this project. */
		parallelism: ranged("parallelism").default(4),
		/** Rows per full-migration chunk. */
		chunkRows: ranged("chunkRows").default(100_000),
		/**
		 * Throttle for the whole project's copy, shared out over its `parallelism` chunks and held
		 * from each chunk's first batch; absent means as fast as the databases allow.
		 */
		maxRowsPerSecond: ranged("maxRowsPerSecond").optional(),
		maxBytesPerSecond: ranged("maxBytesPerSecond").optional(),
		/** Verification chunks checked at once (absent: `parallelism`). */
		verifyConcurrency: ranged("verifyConcurrency").optional(),
		/** Source transactions replay commits at the destination at once, at most (absent: 1000; 200 with parallel apply). */
		replayBatchSize: ranged("replayBatchSize").optional(),
		/**
		 * Destination connections forward replay applies on at once, groups whose keys do not meet
		 * running side by side (absent: 1). Two-way sync and reverse replay keep one connection:
		 * each transaction's checkpoint row must come first.
		 */
		parallelApply: ranged("parallelApply").optional(),
		/**
		 * The longest one statement of a copy or verification chunk (or of planning them) may run
		 * on either server before the server stops it (absent: 3600). It bounds the copy's
		 * streaming read too, so it must exceed one chunk's copy time.
		 */
		queryTimeoutSeconds: ranged("queryTimeoutSeconds").optional(),
		/**
		 * Create secondary indexes after the load (faster for large tables): each table's right after
		 * its last chunk, beside the rest of the copy, or in the indexes step for tables of one chunk,
		 * tables above 20M rows and builds that did not finish there.
		 */
		deferSecondaryIndexes: z.boolean().default(true),
		/**
		 * Two-way synchronisation (active-active): besides source -> destination, replicate
		 * destination -> source at the same time, each direction skipping what the other wrote.
		 */
		twoWay: z.boolean().default(false),
	})
	.strict();
export type ProjectOptions = z.infer<typeof ProjectOptions>;

export const ProjectInput = z
	.object({
		name: z.string().min(1).max(128),
		sourceId: z.string().min(1),
		destinationId: z.string().min(1),
		types: z.array(MigrationType).min(1),
		objects: ObjectRules,
		options: ProjectOptions.default(ProjectOptions.parse({})),
		/**
		 * A synchronization project (the destination is Kafka or RocketMQ): its message format,
		 * topics, partitioning and operations. Absent for a migration; defaults when absent for a
		 * message-queue destination.
		 */
		sync: SyncOptions.optional(),
		/**
		 * Where incremental migration reads the source's changes when not from its binlog: a
		 * change feed in Kafka (TiDB through TiCDC, or a Ferry synchronization's output).
		 */
		feed: ChangeFeed.optional(),
		tags: z.array(z.string().min(1).max(TAG_LIMITS.length)).max(TAG_LIMITS.count).default([]),
	})
	.strict();
export type ProjectInput = z.infer<typeof ProjectInput>;

/** new -> running <-> paused; running -> completed | failed (a ticket is open); any but running -> released. */
export type ProjectState = "new" | "running" | "paused" | "failed" | "completed" | "released";

/** One of the scheduler's steps (shared/scheduler/steps/index.ts lists them, in order). */
export type StepName = string;
export type StepState = "pending" | "running" | "done" | "failed" | "skipped";

export interface Step {
	name: StepName;
	state: StepState;
	/** False until the step's `begin` has completed (absent for steps without one). */
	begun?: boolean;
	startedAt?: string;
	finishedAt?: string;
	error?: string;
	/** Since when the step has failed on the network only (a lost connection, a server out of reach): retried, not ticketed, for a while. */
	retryingSince?: string;
}

/** A failed step waiting for the user: retry it or skip it (OMS's O&M ticket). */
export interface Ticket {
	id: string;
	step: StepName;
	message: string;
	openedAt: string;
	/**
	 * The ticket is about replication itself (its task stopped, or a step that runs replication
	 * failed): replication stays stopped until it is resolved. Any other ticket leaves it running.
	 */
	stopsReplication?: boolean;
}

/** Where incremental replay starts, and until where it must run in safe (idempotent) mode. */
export interface IncrementalState {
	/** The source position recorded before the full copy read its first row. */
	startPosition?: SourcePosition;
	/** The source position after the last chunk was copied: changes before it may already be at the destination. */
	safeUntil?: SourcePosition;
	/** A transaction the user chose to skip (ticket "skip" on an unsupported DDL). */
	skipGtid?: string;
}

/** A precheck result: errors block the project, warnings are kept for the user to read. */
export interface Finding {
	level: "error" | "warning";
	object: string;
	message: string;
	fix: string;
	/** Stable across precheck runs for the same problem (shared/control/findings.ts): what a waiver names. */
	id?: string;
	/** An error the user waived: kept as a warning, it no longer blocks. */
	waived?: boolean;
}

/** Which way a replication stream runs: forward is source -> destination, reverse the way back. */
export type Direction = "forward" | "reverse";

/** Reverse replication (destination -> source): after switchover, or all along in two-way mode. */
export interface ReverseState {
	/** The destination position reverse capture starts from (recorded at the switch, or after the full copy). */
	startPosition?: SourcePosition;
	/** True while the scheduler keeps a reverse replication task running. */
	active?: boolean;
	/** A transaction of the destination's binlog reverse replay passes over (ticket "skip" on a DDL it refused). */
	skipGtid?: string;
}

/**
 * A full verification run: running -> done, with pause/resume; "correcting" while the
 * correction SQL is applied (then a new run re-verifies the corrected tables).
 */
export interface VerificationRun {
	/** 1, 2, ...: each run's chunks are kept apart, so a re-run never mixes with the last one. */
	run: number;
	state: "running" | "paused" | "correcting" | "done" | "failed";
	/** Source `database.table` names to verify; absent means every table of the project. */
	tables?: string[];
	/**
	 * The side whose data is right: the source, or the destination once the switchover moved the
	 * writes there. Differences are counted from it (missing: rows it has and the other side
	 * lacks) and the correction is built from its data and applied to the other side.
	 */
	truth?: "source" | "destination";
	startedAt: string;
	finishedAt?: string;
	error?: string;
	/** Totals when done. */
	totals?: VerificationTotals;
	/** The run whose differences are being corrected (state "correcting"). */
	correcting?: number;
	/** When a scheduler claimed the correction (epoch ms): another one leaves it alone for a while. */
	applyingSince?: number;
	/** Carried from run to run: the last done run over every table ... */
	fullRun?: number;
	/** ... and the tables that differ by the latest run that checked each of them since. */
	differing?: string[];
}

export interface VerificationTotals {
	rowsChecked: number;
	missing: number;
	extra: number;
	different: number;
	/** Differences in the tables themselves: a table or column at one end only (absent in runs before it was counted). */
	schema?: number;
	tablesDiffering: number;
}

/** Whether a run's totals show any difference. */
export function differs(t: VerificationTotals): boolean {
	return t.missing + t.extra + t.different + (t.schema ?? 0) > 0;
}

/** What the user asked of the switchover and how far it got (the steps hold the rest). */
export interface SwitchoverState {
	/** Set by the user's "start switchover": the steps wait for it. */
	requestedAt?: string;
	/** The largest replay latency at which the switch may proceed. */
	maxLatencySeconds: number;
	/** The user accepts switching without a clean verification. */
	waiveVerification: boolean;
	/** Set by the user once the application stopped writing to the source. */
	writesStoppedAt?: string;
	/** The source position after its last write: replay drains up to it. */
	finalPosition?: SourcePosition;
	/** Forward replay is over; the scheduler keeps no forward task. */
	forwardStopped?: boolean;
	/** Why the switchover waits (shown in the status and alerted on). */
	blocked?: string;
	/**
	 * Since when (epoch ms) replay's latency has been above `maxLatencySeconds` at the check: the
	 * check waits for it to come down (a restarted task reports a stale latency until its first
	 * commit) and opens its ticket only once it has stayed above for the wait.
	 */
	lateSince?: number;
}

export interface Project extends ProjectInput {
	id: string;
	state: ProjectState;
	steps: Step[];
	ticket?: Ticket;
	findings?: Finding[];
	/** Ids of blocking findings the user accepts (`waiveFinding`): precheck keeps them as warnings. */
	waivedFindings?: string[];
	incremental?: IncrementalState;
	reverse?: ReverseState;
	verification?: VerificationRun;
	switchover?: SwitchoverState;
	createdAt: string;
	updatedAt: string;
}
