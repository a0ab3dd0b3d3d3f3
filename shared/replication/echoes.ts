import type { BinlogReaderOptions } from "../capture/reader-types.ts";
import type { TableName } from "../model/rules.ts";
import { echoMarks, META_DATABASE } from "../replay/checkpoint.ts";
import { peerReplicationId } from "./ids.ts";

/**
 * What capture leaves out of the server a stream reads, whatever the stream's own target:
 * Ferry's helper schema there (the checkpoint rows of replays writing into that server), and the
 * transactions the other direction's replay wrote (two-way sync: they are not sent back; their
 * checkpoint row marks them, docs/decisions/2026-11-24-two-way-loop-prevention.md). Both
 * describe what a MySQL target of another stream leaves in the server this stream reads, so
 * they belong to the source side, not to this stream's target.
 */
export function captureFilter(
	replicationId: string,
	captures: (t: TableName) => boolean,
): Pick<BinlogReaderOptions, "include" | "skipEchoes"> {
	return {
		include: (t) => t.database !== META_DATABASE && captures(t),
		// what the other direction's replay wrote is not sent back (its checkpoint row marks it)
		skipEchoes: echoMarks(peerReplicationId(replicationId)),
	};
}
