import type { SourcePosition } from "../binlog/position.ts";
import type { DdlChange, TransactionPart } from "../capture/change.ts";
import type { Connection, Pool } from "../db/connect.ts";
import type { Credentials } from "../model/datasource.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import { META_DATABASE } from "./checkpoint.ts";
import type { ColumnRules } from "./resolver.ts";
import type { Inconsistency, ReplayMode } from "./statements.ts";
import type { TableCounts } from "./table-counts.ts";

/** What the Applier (applier.ts) is given, what it hands `onDdl`, and the totals it reports. */

export interface DdlRunContext {
	/** A replay connection to the destination, outside any transaction. */
	connection: Connection;
	part: TransactionPart;
}

export interface ApplierOptions {
	destination: Credentials;
	/** The stream's name: its checkpoint row's key. */
	stream: string;
	/** The mapping of a source table, or null/undefined if the table is not replicated. */
	mapping: (table: TableName) => TableMapping | null | undefined | Promise<TableMapping | null | undefined>;
	/** The source server, to evaluate row filters (needed if a mapping has `where`) and to read its tables' columns (resolver.ts). */
	source?: Pool | Connection;
	/** The rules' say on a column row images carry that the mapping lacks (resolver.ts; default: the same name, selected). */
	columnRule?: ColumnRules;
	/** A mapping the applier changed to match both ends (resolver.ts), for the caller to keep. */
	onMappingChanged?: (mapping: TableMapping) => Promise<void> | void;
	/** Ferry's helper database at the destination (default `ferry_meta`). */
	metaDatabase?: string;
	/** Safe (idempotent) mode until the applied position reaches this; exact mode afterwards. */
	safeUntil?: SourcePosition | null;
	/** Applies a DDL change at the destination (the DDL translator). */
	onDdl?: (change: DdlChange, context: DdlRunContext) => Promise<void>;
	/** Destination connections applying groups at once (default 1). */
	parallel?: number;
	/** Source transactions per destination commit, at most (default 1000; 200 with parallel apply). */
	groupTransactions?: number;
	/** Row changes written per round trip, at most (default 10000); also the part size inside a large transaction. */
	groupRows?: number;
	/** A group is committed at the latest this long after its first transaction arrived (default 50). */
	groupDelayMs?: number;
	/** Target size of one multi-row statement (default 1 MiB). */
	statementBytes?: number;
	/** innodb_lock_wait_timeout of replay sessions, seconds (default 10; 3 with parallel apply). */
	lockWaitTimeout?: number;
	/**
	 * In exact mode, check each keyed change's precondition (row present for update and delete,
	 * absent for insert) and report inconsistencies (default true). Off, exact mode writes as safe
	 * mode does, a little faster, and finds nothing.
	 */
	exactChecks?: boolean;
	/** Skip transactions whose GTID the checkpoint already covers (default true). */
	skipApplied?: boolean;
	/** Called for each inconsistency found in exact mode (default: a warning in the log). */
	onInconsistency?: (inconsistency: Inconsistency) => void;
	/** Called after each destination commit with the running totals. */
	onCommit?: (stats: ApplyStats) => void;
}

export interface ApplyStats {
	/** Source transactions applied (committed at the destination). */
	transactions: number;
	/** Row changes of those transactions (before row filters). */
	rows: number;
	/** Their size in the source binlog (each transaction counted by its final part's `bytes`). */
	bytes: number;
	/** Destination commits. */
	commits: number;
	/** Transactions skipped because the checkpoint already covered them. */
	skipped: number;
	/** Positions moved past the peer's checkpoint-only transactions, written with the next transaction. */
	unwritten: number;
	/** Source commit time (epoch ms) of the last transaction applied: latency = now - this. */
	lastCommitTime: number | null;
	/** The position after the last transaction applied (the checkpoint). */
	position: SourcePosition | null;
	/** Inconsistencies found in exact mode. */
	inconsistencies: number;
	/**
	 * Exact once the position applied has reached `safeUntil` (whatever transactions brought it
	 * there, or none after it); safe before.
	 */
	mode: ReplayMode;
	/** Groups run again after a lock wait, deadlock or duplicate key. */
	retries: number;
	/** DDL statements applied. */
	ddl: number;
	/** Per source table: inserts, updates, deletes and DDL applied (table-counts.ts, bounded). */
	tables: TableCounts;
}

/** An applier's totals before it applies anything. */
export function emptyStats(): ApplyStats {
	return {
		transactions: 0,
		rows: 0,
		bytes: 0,
		commits: 0,
		skipped: 0,
		unwritten: 0,
		lastCommitTime: null,
		position: null,
		inconsistencies: 0,
		mode: "exact",
		retries: 0,
		ddl: 0,
		tables: {},
	};
}

/** The options the applier fills in when they are not given. */
export type ApplierDefaults = Required<
	Pick<
		ApplierOptions,
		| "parallel"
		| "groupTransactions"
		| "groupRows"
		| "groupDelayMs"
		| "statementBytes"
		| "lockWaitTimeout"
		| "skipApplied"
		| "metaDatabase"
	>
>;

/** The given options with the defaults filled in (some depend on `parallel`). */
export function applierDefaults(options: ApplierOptions): ApplierDefaults {
	return {
		parallel: Math.max(1, Math.floor(options.parallel ?? 1)),
		// With several connections, smaller groups meet fewer keys of the groups in flight.
		groupTransactions: Math.max(1, options.groupTransactions ?? ((options.parallel ?? 1) > 1 ? 200 : 1000)),
		groupRows: Math.max(1, options.groupRows ?? 10_000),
		groupDelayMs: Math.max(0, options.groupDelayMs ?? 50),
		statementBytes: Math.max(1024, options.statementBytes ?? 1024 * 1024),
		// With parallel apply a lock wait can hide a conflict between groups (committer.ts runFlight): shorter.
		lockWaitTimeout: Math.max(1, Math.floor(options.lockWaitTimeout ?? ((options.parallel ?? 1) > 1 ? 3 : 10))),
		skipApplied: options.skipApplied ?? true,
		metaDatabase: options.metaDatabase ?? META_DATABASE,
	};
}
