import { ConflictError } from "../aws/state-store.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import { tableKey } from "../schema/snapshot.ts";
import { listTables, stripKey, type TableItem, tableSk, tablesPk } from "./chunks.ts";
import type { Context } from "./context.ts";

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
	ctx: Context,
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

async function saveOne(ctx: Context, projectId: string, change: MappingChange, keepFilter: boolean): Promise<void> {
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
		await ctx.store.replace<TableItem>(item, { ...stripKey(item), mapping }, item.version);
		return;
	}
	const index = Math.max(-1, ...items.map((i) => i.index)) + 1;
	const created: TableItem = { index, mapping: change.mapping, rowsEstimate: 0, planned: true, chunks: 0 };
	await ctx.store.create({ pk: tablesPk(projectId), sk: tableSk(index) }, created);
}
