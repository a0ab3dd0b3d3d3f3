import type { ColumnMapping, TableMapping } from "../model/rules.ts";

/**
 * The columns verification compares: those the two ends have now, not only those the project's
 * mapping names (it may have fallen behind DDL: a statement skipped after a ticket, DDL a person
 * ran at both ends). A mapped column both ends have is compared under its mapped names; a column
 * both ends have under the same name (letter case aside) is compared too; any other column is at
 * one end only and reported as such (the caller decides which of those the rules leave out).
 */
export interface MatchedColumns {
	/** Compared: mapped ones first, in mapping order, then same-named ones in source order. */
	compared: ColumnMapping[];
	/** Source columns with no counterpart at the destination. */
	sourceOnly: string[];
	/** Destination columns with no counterpart at the source. */
	destinationOnly: string[];
}

const lower = (s: string) => s.toLowerCase();

export function matchColumns(
	mapping: TableMapping,
	sourceColumns: readonly string[],
	destinationColumns: readonly string[],
): MatchedColumns {
	const atSource = new Map(sourceColumns.map((c) => [lower(c), c]));
	const atDestination = new Map(destinationColumns.map((c) => [lower(c), c]));
	const usedSource = new Set<string>();
	const usedDestination = new Set<string>();
	const compared: ColumnMapping[] = [];
	const pair = (source: string, destination: string) => {
		compared.push({ source, destination });
		usedSource.add(lower(source));
		usedDestination.add(lower(destination));
	};
	for (const m of mapping.columns) {
		const s = atSource.get(lower(m.source));
		const d = atDestination.get(lower(m.destination));
		if (s !== undefined && d !== undefined && !usedDestination.has(lower(d))) pair(s, d);
	}
	for (const s of sourceColumns) {
		const d = atDestination.get(lower(s));
		if (!usedSource.has(lower(s)) && d !== undefined && !usedDestination.has(lower(d))) pair(s, d);
	}
	return {
		compared,
		sourceOnly: sourceColumns.filter((c) => !usedSource.has(lower(c))),
		destinationOnly: destinationColumns.filter((c) => !usedDestination.has(lower(c))),
	};
}
