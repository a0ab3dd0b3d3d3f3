import type { FeedTransaction, FeedWatermark } from "./event.ts";
import type { ExactJson } from "./exact-json.ts";

/*
 * TiDB's timestamps (TSO): 64 bits, the physical time in milliseconds shifted left by 18 bits,
 * plus a logical counter in the low 18. A transaction's commit TSO is unique to it and orders it
 * among all others, so it is both the transaction's id and its order in TiCDC's feeds.
 */

const MAX_TSO = (1n << 64n) - 1n;
const LOGICAL_BITS = 18n;

/** A TSO as the exact JSON parser gives it (shared/feed/exact-json.ts), or undefined when the value is not one. */
export function tsoOf(value: ExactJson | undefined): bigint | undefined {
	return typeof value === "bigint" && value > 0n && value <= MAX_TSO ? value : undefined;
}

/** The transaction a change committed at `tso` belongs to. */
export function tsoTransaction(tso: bigint): FeedTransaction {
	const text = tso.toString();
	return { id: text, order: tso, commitTs: text, commitTime: Number(tso >> LOGICAL_BITS) };
}

export function tsoWatermark(tso: bigint): FeedWatermark {
	return { kind: "watermark", order: tso, ts: tso.toString() };
}
