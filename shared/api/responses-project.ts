import { z } from "zod";
import type { FeedCursor, SourcePosition } from "../binlog/position.ts";
import {
	type Finding,
	type IncrementalState,
	type Project,
	ProjectInput,
	type ReverseState,
	type Step,
	type SwitchoverState,
	type Ticket,
	type VerificationRun,
	type VerificationTotals,
} from "../model/project.ts";
import { Count, exactly, Rate, RunNumber, Time } from "./responses-base.ts";

/*
 * A project as the API shows it: the settings as created, and the state the scheduler keeps on
 * it (responses.ts; the other answers that hold a project or part of one use these too).
 */

const FeedCursorView = exactly<FeedCursor>()(
	z.object({
		offsets: z.record(z.string(), z.string()),
		watermarks: z.record(z.string(), z.string()).optional(),
	}),
);

export const SourcePositionView = exactly<SourcePosition>()(
	z.object({
		gtid: z.string(),
		file: z.string(),
		pos: Count,
		tso: z.string().regex(/^\d+$/).optional(),
		feed: FeedCursorView.optional(),
	}),
);

export const StepView = exactly<Step>()(
	z.object({
		name: z.string(),
		state: z.enum(["pending", "running", "done", "failed", "skipped"]),
		begun: z.boolean().optional(),
		startedAt: Time.optional(),
		finishedAt: Time.optional(),
		error: z.string().optional(),
		retryingSince: Time.optional(),
	}),
);

export const TicketView = exactly<Ticket>()(
	z.object({
		id: z.string(),
		step: z.string(),
		message: z.string(),
		openedAt: Time,
		stopsReplication: z.boolean().optional(),
	}),
);

export const FindingView = exactly<Finding>()(
	z.object({
		level: z.enum(["error", "warning"]),
		object: z.string(),
		message: z.string(),
		fix: z.string(),
		id: z.string().optional(),
		waived: z.boolean().optional(),
	}),
);

const IncrementalView = exactly<IncrementalState>()(
	z.object({
		startPosition: SourcePositionView.optional(),
		safeUntil: SourcePositionView.optional(),
		skipGtid: z.string().optional(),
	}),
);

const ReverseView = exactly<ReverseState>()(
	z.object({
		startPosition: SourcePositionView.optional(),
		active: z.boolean().optional(),
		skipGtid: z.string().optional(),
	}),
);

const TotalsView = exactly<VerificationTotals>()(
	z.object({
		rowsChecked: Count,
		missing: Count,
		extra: Count,
		different: Count,
		schema: Count.optional(),
		tablesDiffering: Count,
	}),
);

export const VerificationRunView = exactly<VerificationRun>()(
	z.object({
		run: RunNumber,
		state: z.enum(["running", "paused", "correcting", "done", "failed"]),
		tables: z.array(z.string()).optional(),
		truth: z.enum(["source", "destination"]).optional(),
		startedAt: Time,
		finishedAt: Time.optional(),
		error: z.string().optional(),
		totals: TotalsView.optional(),
		correcting: RunNumber.optional(),
		/** Epoch milliseconds. */
		applyingSince: Count.optional(),
		fullRun: RunNumber.optional(),
		differing: z.array(z.string()).optional(),
	}),
);

export const SwitchoverView = exactly<SwitchoverState>()(
	z.object({
		requestedAt: Time.optional(),
		maxLatencySeconds: Rate,
		waiveVerification: z.boolean(),
		writesStoppedAt: Time.optional(),
		finalPosition: SourcePositionView.optional(),
		forwardStopped: z.boolean().optional(),
		blocked: z.string().optional(),
		/** Epoch milliseconds. */
		lateSince: Count.optional(),
	}),
);

export const ProjectView = exactly<Project>()(
	ProjectInput.extend({
		id: z.string(),
		state: z.enum(["new", "running", "paused", "failed", "completed", "released"]),
		steps: z.array(StepView),
		ticket: TicketView.optional(),
		findings: z.array(FindingView).optional(),
		waivedFindings: z.array(z.string()).optional(),
		incremental: IncrementalView.optional(),
		reverse: ReverseView.optional(),
		verification: VerificationRunView.optional(),
		switchover: SwitchoverView.optional(),
		createdAt: Time,
		updatedAt: Time,
	}),
);
