import type { ReportEntry } from "../schema/plan.ts";
import { reportPk } from "./keys.ts";
import type { HasStore } from "./store.ts";

/** Entries per state item: a report of thousands of objects would not fit one 400 KB item. */
const PAGE = 100;

/** Stores the schema report (every object converted, changed or refused, and why), replacing any earlier one. */
export async function saveSchemaReport(ctx: HasStore, projectId: string, report: ReportEntry[]): Promise<void> {
	const pages = Math.ceil(report.length / PAGE);
	for (let i = 0; i < pages; i++) {
		const key = { pk: reportPk(projectId), sk: String(i).padStart(6, "0") };
		const entries = report.slice(i * PAGE, (i + 1) * PAGE);
		const current = await ctx.store.get(key);
		if (current) await ctx.store.replace(key, { entries }, current.version);
		else await ctx.store.create(key, { entries });
	}
	for await (const stale of ctx.store.query(reportPk(projectId))) {
		if (Number(stale.sk) >= pages) await ctx.store.delete(stale);
	}
}

export async function readSchemaReport(ctx: HasStore, projectId: string): Promise<ReportEntry[]> {
	const pages = await ctx.store.list<{ entries: ReportEntry[] }>(reportPk(projectId));
	return pages.flatMap((p) => p.entries);
}
