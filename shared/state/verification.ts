import type { UnreplicatedTable } from "../verify/schema-diff.ts";
import { tableSk, verifyPlanPk } from "./keys.ts";
import { type HasStore, ignoreConflict, withoutKey } from "./store.ts";

/**
 * A verification run's plan items (`VPLAN#<project>#<run>`): one per table once all its chunks
 * exist (its chunk count, and the differences in the table itself), and for a run over every
 * table, the tables the rules include that the project does not replicate. The run's chunks are
 * chunk items (state/chunks.ts) in `VERIFY#<project>#<run>`.
 */

/** A table's plan item: its chunk count, and the differences in the table itself. */
export interface PlanItem {
	chunks: number;
	schema?: string[];
}

const UNREPLICATED_SK = "unreplicated";

/** Each planned table's plan item, by table index. */
export async function plannedTables(ctx: HasStore, projectId: string, run: number): Promise<Map<number, PlanItem>> {
	const items = await ctx.store.list<PlanItem>(verifyPlanPk(projectId, run));
	return new Map(items.filter((i) => i.sk !== UNREPLICATED_SK).map((i) => [Number(i.sk), withoutKey(i)]));
}

export async function markTablePlanned(ctx: HasStore, projectId: string, run: number, index: number, item: PlanItem) {
	await ctx.store.create({ pk: verifyPlanPk(projectId, run), sk: tableSk(index) }, item).catch(ignoreConflict);
}

/** The tables a full run found unreplicated; undefined until the run has looked. */
export async function unreplicatedOf(
	ctx: HasStore,
	projectId: string,
	run: number,
): Promise<UnreplicatedTable[] | undefined> {
	const item = await ctx.store.get<{ tables: UnreplicatedTable[] }>({
		pk: verifyPlanPk(projectId, run),
		sk: UNREPLICATED_SK,
	});
	return item?.tables;
}

export async function saveUnreplicated(ctx: HasStore, projectId: string, run: number, tables: UnreplicatedTable[]) {
	await ctx.store.create({ pk: verifyPlanPk(projectId, run), sk: UNREPLICATED_SK }, { tables }).catch(ignoreConflict);
}
