import type { TableMapping } from "../../shared/model/rules.ts";
import { applyCorrections, correctionStatements } from "../../shared/verify/correct.ts";
import { type TableVerification, verifyTable } from "../../shared/verify/verify-table.ts";
import type { Pair } from "../support/pair.ts";

/** Verifies, corrects with the generated SQL, and re-verifies; returns the first verification. */
export async function verifyCorrect(
	pair: Pair,
	mapping: TableMapping,
	options: { chunkRows?: number } = {},
): Promise<{ first: TableVerification; statements: string[]; after: TableVerification }> {
	const first = await verifyTable(pair.source, pair.destination, mapping, { chunkRows: options.chunkRows ?? 2 });
	const statements = await correctionStatements(
		pair.source,
		pair.destination,
		first.prepared,
		first.key,
		first.differences,
	);
	await applyCorrections(pair.destination, statements);
	const after = await verifyTable(pair.source, pair.destination, mapping, { chunkRows: options.chunkRows ?? 2 });
	return { first, statements, after };
}

export function counts(v: Pick<TableVerification, "missing" | "extra" | "different">) {
	return { missing: v.missing, extra: v.extra, different: v.different };
}
