import type { SourcePosition } from "../binlog/position.ts";
import type { RowChange } from "../capture/change.ts";
import type { ReplayMode } from "./statements.ts";
import { countRows, type TableCounts } from "./table-counts.ts";

/** The transactions of one destination commit (or of one part of a large transaction). */
export class Group {
	changes: RowChange[] = [];
	transactions = 0;
	rows = 0;
	bytes = 0;
	position: SourcePosition | null = null;
	commitTime: number | null = null;
	mode: ReplayMode = "exact";
	/** The last part taken was a transaction's final part. */
	atBoundary = true;
	/** `changes` up to here belong to complete transactions. */
	boundaryIndex = 0;
	/** Part of it was already written into an open destination transaction (a large transaction). */
	streaming = false;
	startedAt = 0;

	/** Per table, the changes taken so far (`take`): what the group adds to replay's counts once committed. */
	readonly counts: TableCounts = {};

	/** Hands its changes over to be written, counting them. */
	take(): RowChange[] {
		const changes = this.changes;
		countRows(this.counts, changes);
		this.changes = [];
		return changes;
	}

	get empty(): boolean {
		return this.transactions === 0 && this.changes.length === 0 && !this.streaming && this.atBoundary;
	}
}
