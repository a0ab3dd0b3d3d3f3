import { num } from "../../ui/format.ts";

/** Tables the project's page shows at once: a status page costs the same whatever the project's tables. */
export const TABLES_PAGE = 50;

/** The page of tables the address asks for (`?tablesFrom=50`), so that a reload or a shared link shows the same tables. */
export function tablesPageOf(query: URLSearchParams): { from: number; limit: number } {
	const raw = query.get("tablesFrom") ?? "";
	const from = /^\d{1,9}$/.test(raw) ? Number(raw) : 0;
	return { from, limit: TABLES_PAGE };
}

/** "Tables 51–100 of 2,000". */
export function pageLabel(from: number, shown: number, total: number): string {
	if (total === 0) return "No tables planned yet";
	if (shown === 0) return `No tables from ${num(from + 1)} on: the project has ${num(total)}`;
	return `Tables ${num(from + 1)}–${num(from + shown)} of ${num(total)}`;
}
