import type { ChunkSpec } from "../chunking/plan.ts";
import type { Queryable } from "../db/connect.ts";
import type { TableMapping } from "../model/rules.ts";
import { chunkChecksum } from "./checksum.ts";
import { diffChunk, type RowDiff, recheckDifferences } from "./diff.ts";
import { prepareTable } from "./normalise.ts";

/** Differences kept per chunk (the counts are always complete). */
export const MAX_CHUNK_DIFFERENCES = 500;

export interface ChunkVerdict {
	/** Source rows in the chunk. */
	rows: number;
	missing: number;
	extra: number;
	different: number;
	differences: RowDiff[];
	truncated: boolean;
}

function verdict(rows: number, diffs: RowDiff[]): ChunkVerdict {
	const out: ChunkVerdict = { rows, missing: 0, extra: 0, different: 0, differences: [], truncated: false };
	for (const d of diffs) {
		const n = d.count ?? 1;
		if (d.kind === "missing") out.missing += n;
		else if (d.kind === "extra") out.extra += n;
		else out.different += 1;
	}
	out.differences = diffs.slice(0, MAX_CHUNK_DIFFERENCES);
	out.truncated = diffs.length > MAX_CHUNK_DIFFERENCES;
	return out;
}

/**
 * Verifies one chunk of a mapped table: checksums inside both databases at once, narrowed down
 * to rows and columns only when they differ. Given the differences an earlier check found (and
 * kept in full), only those rows are checked again: a difference is one that persists. Under a
 * write load every check also sees rows that replay has not applied yet; those come and go, so
 * the first check's list (which holds every row that differed then, real or in flight) is
 * narrowed by each recheck and never widened.
 */
export async function verifyChunk(
	source: Queryable,
	destination: Queryable,
	mapping: TableMapping,
	chunk: ChunkSpec,
	earlier?: { differences: RowDiff[]; truncated: boolean },
): Promise<ChunkVerdict> {
	const table = await prepareTable(source, destination, mapping);
	const [s, d] = await Promise.all([
		chunkChecksum(source, "source", mapping, chunk, table),
		chunkChecksum(destination, "destination", mapping, chunk, table),
	]);
	if (s.rows === d.rows && s.hash === d.hash) return verdict(s.rows, []);
	if (earlier && !earlier.truncated && chunk.kind === "range") {
		return verdict(
			s.rows,
			await recheckDifferences(source, destination, table, chunk.key.columns, earlier.differences),
		);
	}
	return verdict(s.rows, await diffChunk(source, destination, table, chunk));
}
