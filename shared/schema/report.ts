import type { Conversion } from "./dialect/rules.ts";

/** The schema report: one entry per source object, saying what happens to it at the destination. */

export type ReportStatus = "converted" | "changed" | "refused";

export interface ReportEntry {
	kind:
		| "database"
		| "table"
		| "index"
		| "foreignKey"
		| "check"
		| "view"
		| "procedure"
		| "function"
		| "event"
		| "package"
		| "trigger";
	/** The object at the destination, e.g. `shop.orders`, `shop.orders index ix_date`. */
	object: string;
	/** The same object at the source. */
	source: string;
	status: ReportStatus;
	changes: Conversion[];
	warnings: string[];
	/** Why a refused object is not created. */
	reason?: string;
}

export function reportEntry(kind: ReportEntry["kind"], object: string, source: string): ReportEntry {
	return { kind, object, source, status: "converted", changes: [], warnings: [] };
}

export function record(entry: ReportEntry, changes: Conversion[], warnings: string[]): void {
	entry.changes.push(...changes);
	entry.warnings.push(...warnings);
	if (changes.length > 0 && entry.status === "converted") entry.status = "changed";
}

export function refuse(entry: ReportEntry, reason: string): void {
	entry.status = "refused";
	entry.reason = reason;
}
