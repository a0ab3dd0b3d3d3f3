import type { TableMapping, TableName } from "../model/rules.ts";
import { tableKey } from "../schema/snapshot.ts";
import { tableSk, tablesPk } from "./keys.ts";
import { ConflictError, type HasStore, ignoreConflict, type Stored, update } from "./store.ts";

/** One table of the project as resolved at precheck, with its planning state. */
export interface TableItem {
	index: number;
	mapping: TableMapping;
	/** Source row estimate (information_schema), for progress only. */
	rowsEstimate: number;
	planned: boolean;
	chunks: number;
}

export async function listTables(ctx: HasStore, projectId: string): Promise<Stored<TableItem>[]> {
	return ctx.store.list<TableItem>(tablesPk(projectId));
}

/** The tables with an index from `first` to `last`, in order: one read of those items alone. */
export async function tablesBetween(
	ctx: HasStore,
	projectId: string,
	first: number,
	last: number,
): Promise<Stored<TableItem>[]> {
	const out: Stored<TableItem>[] = [];
	const page = { after: first > 0 ? tableSk(first - 1) : undefined, pageSize: Math.min(100, last - first + 1) };
	for await (const t of ctx.store.query<TableItem>(tablesPk(projectId), "", page)) {
		if (t.index > last) break;
		out.push(t);
	}
	return out;
}

export async function getTable(ctx: HasStore, projectId: string, index: number): Promise<TableItem | undefined> {
	return ctx.store.get<TableItem>({ pk: tablesPk(projectId), sk: tableSk(index) });
}

/** Records a table resolved at precheck; a second precheck finding it there leaves it. */
export async function createTable(ctx: HasStore, projectId: string, item: TableItem): Promise<void> {
	await ctx.store.create({ pk: tablesPk(projectId), sk: tableSk(item.index) }, item).catch(ignoreConflict);
}

/** All of the table's chunks exist: planning does not come back to it. */
export async function markPlanned(ctx: HasStore, table: Stored<TableItem>, chunks: number): Promise<void> {
	await update<TableItem>(ctx.store, table, { planned: true, chunks });
}

/** One table's new mapping (forward terms): the item whose source table is `key` gets `mapping`, or goes when it has none. */
export interface MappingChange {
	key: TableName;
	mapping?: TableMapping;
}

const ATTEMPTS = 6;

/**
 * Writes mapping changes into the project's `TABLES#` items, each on the item as it is now:
 * in two-way sync both directions' replay write them. Only the changed items are written, so
 * what the other direction wrote of other tables stays. A new table gets the next free index.
 * With `keepFilter`, an existing item keeps its row filter (reverse replay knows none).
 */
export async function saveMappings(
	ctx: HasStore,
	projectId: string,
	changes: readonly MappingChange[],
	keepFilter = false,
): Promise<void> {
	for (const change of changes) {
		for (let attempt = 1; ; attempt++) {
			try {
				await saveOne(ctx, projectId, change, keepFilter);
				break;
			} catch (err) {
				if (!(err instanceof ConflictError) || attempt >= ATTEMPTS) throw err;
			}
		}
	}
}

async function saveOne(ctx: HasStore, projectId: string, change: MappingChange, keepFilter: boolean): Promise<void> {
	const items = await listTables(ctx, projectId);
	const of = (t: TableName) => items.find((i) => tableKey(i.mapping.source) === tableKey(t));
	const item = of(change.key) ?? (change.mapping && of(change.mapping.source));
	if (!change.mapping) {
		if (item) await ctx.store.delete(item, item.version);
		return;
	}
	if (item) {
		const { where: _where, ...rest } = change.mapping;
		const where = keepFilter ? item.mapping.where : change.mapping.where;
		const mapping: TableMapping = { ...rest, ...(where ? { where } : {}) };
		await update<TableItem>(ctx.store, item, { mapping });
		return;
	}
	const index = Math.max(-1, ...items.map((i) => i.index)) + 1;
	const created: TableItem = { index, mapping: change.mapping, rowsEstimate: 0, planned: true, chunks: 0 };
	await ctx.store.create({ pk: tablesPk(projectId), sk: tableSk(index) }, created);
}
