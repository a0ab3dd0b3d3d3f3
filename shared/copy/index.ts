/**
 * Full migration's data path: find a table's copy key, cut it into key-range chunks, copy a chunk
 * idempotently. The control plane persists the chunks a plan yields and runs `copyChunk` on each
 * (in parallel, from queues); a chunk is done when `copyChunk` resolves.
 */
export {
	type CopyOptions,
	type CopyProgress,
	type CopyResult,
	chunkLockName,
	copyChunk,
	type WriteMethod,
} from "./chunk.ts";
export { CopyError, type CopyErrorCode } from "./errors.ts";
export {
	type ColumnInfo,
	type CopyKey,
	describeColumns,
	findCopyKey,
	type KeyColumn,
	type KeyKind,
} from "./keys.ts";
export {
	type ChunkKeyColumn,
	type ChunkSpec,
	describePlan,
	type PlanOptions,
	planAllChunks,
	planChunks,
	type RangeChunk,
	type TablePlan,
	type WholeTableChunk,
} from "./plan.ts";
export type { KeyValue } from "./range.ts";
export { Throttle, type ThrottleLimits } from "./throttle.ts";
