import { type ChunkKeyColumn, type ChunkSpec, planChunks } from "../chunking/plan.ts";
import type { Queryable } from "../db/connect.ts";
import { qualifiedName } from "../db/sql.ts";
import type { TableMapping } from "../model/rules.ts";
import { type ChunkChecksum, chunkChecksum } from "./checksum.ts";
import { diffChunk, type RowDiff } from "./diff.ts";
import { type PreparedTable, prepareTable } from "./normalise.ts";

export interface VerifyOptions {
	/** Rows per key-range chunk (default 50,000). */
	chunkRows?: number;
	/** Chunks checked at once (each queries both sides at once; default 2). */
	concurrency?: number;
	/** Row differences kept in the result (counts are always complete; default 1000). */
	maxDifferences?: number;
	/** Called after each chunk (progress). */
	onChunk?: (chunk: ChunkSpec, result: { source: ChunkChecksum; destination: ChunkChecksum; same: boolean }) => void;
}

/** The verification of one mapped table. */
export interface TableVerification {
	/** `database.table` at the source. */
	table: string;
	destination: string;
	/** The copy key differences are reported by (source and destination names), null for keyless tables. */
	key: ChunkKeyColumn[] | null;
	rowsChecked: number;
	missing: number;
	extra: number;
	different: number;
	/** The first `maxDifferences` differences. */
	differences: RowDiff[];
	truncated: boolean;
	chunks: { total: number; differing: number };
	/** The table as prepared for hashing (reuse it for `correctionStatements`). */
	prepared: PreparedTable;
}

/**
 * Verifies a mapped table: cuts it into key-range chunks on the source (`planChunks`, the row
 * filter applied), checksums each chunk inside both databases at once, and narrows each chunk
 * whose count or hash differs down to rows and columns (`diffChunk`). A table without a key is
 * one chunk compared as a multiset of rows. Memory is bounded by `concurrency` x `chunkRows`
 * row hashes (for differing chunks only).
 */
export async function verifyTable(
	source: Queryable,
	destination: Queryable,
	mapping: TableMapping,
	options: VerifyOptions = {},
): Promise<TableVerification> {
	const chunkRows = options.chunkRows ?? 50_000;
	const concurrency = Math.max(1, Math.floor(options.concurrency ?? 2));
	const maxDifferences = options.maxDifferences ?? 1000;
	const prepared = await prepareTable(source, destination, mapping);
	const result: TableVerification = {
		table: qualifiedName(mapping.source),
		destination: qualifiedName(mapping.destination),
		key: null,
		rowsChecked: 0,
		missing: 0,
		extra: 0,
		different: 0,
		differences: [],
		truncated: false,
		chunks: { total: 0, differing: 0 },
		prepared,
	};
	const chunks = planChunks(source, mapping, { chunkRows });
	let failed: unknown = null;
	const worker = async () => {
		for (;;) {
			if (failed) return;
			const next = await chunks.next();
			if (next.done) return;
			const chunk = next.value;
			if (chunk.kind === "range") result.key = chunk.key.columns;
			result.chunks.total += 1;
			const [s, d] = await Promise.all([
				chunkChecksum(source, "source", mapping, chunk, prepared),
				chunkChecksum(destination, "destination", mapping, chunk, prepared),
			]);
			result.rowsChecked += s.rows;
			const same = s.rows === d.rows && s.hash === d.hash;
			options.onChunk?.(chunk, { source: s, destination: d, same });
			if (same) continue;
			result.chunks.differing += 1;
			const diffs = await diffChunk(source, destination, prepared, chunk);
			for (const diff of diffs) {
				const n = diff.count ?? 1;
				if (diff.kind === "missing") result.missing += n;
				else if (diff.kind === "extra") result.extra += n;
				else result.different += 1;
				if (result.differences.length < maxDifferences) result.differences.push(diff);
				else result.truncated = true;
			}
		}
	};
	// The generator is shared: each `next()` is awaited before the next one starts, since an
	// async generator queues concurrent calls anyway.
	await Promise.all(
		Array.from({ length: concurrency }, () =>
			worker().catch((err) => {
				failed ??= err;
			}),
		),
	);
	if (failed) throw failed;
	return result;
}
