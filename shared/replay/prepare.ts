import type { RowChange } from "../capture/change.ts";
import type { Connection } from "../db/connect.ts";
import { tableKey } from "../schema/snapshot.ts";
import { type BatchItem, OrderedBatch, TableBatch } from "./batch.ts";
import { cascadeItems, mayCascade, type ReferencingKey, readReferencingKeys, referencedKey } from "./cascades.ts";
import { type RowFilter, routeChange } from "./filter.ts";
import { completeImage, conflictKeys } from "./literals.ts";
import { ReplayError } from "./replay-error.ts";
import type { ReplayTable } from "./replay-table.ts";
import type { ReplayTables } from "./resolver.ts";
import type { ReplayMode } from "./statements.ts";

export interface Prepared {
	items: BatchItem[];
	/** Conflict keys for parallel apply; null conflicts with everything. */
	keys: Set<string> | null;
}

/**
 * A group's row changes as the statements of its destination transaction: tables resolved
 * (resolver.ts), row filters applied, changes compacted per table (batch.ts), the target's
 * foreign-key actions redone around their parent's change (cascades.ts), and the conflict keys
 * parallel apply compares.
 */
export class GroupStatements {
	private referencing: Promise<Map<string, ReferencingKey[]>> | null = null;

	constructor(
		private readonly tables: ReplayTables,
		private readonly filter: RowFilter | null,
		/** A replay connection to the destination, outside any transaction. */
		private readonly control: () => Connection,
		/** Target size of one multi-row statement. */
		private readonly statementBytes: number,
		/** In exact mode, check each keyed change's precondition. */
		private readonly exactChecks: boolean,
	) {}

	/** Forgets what it knows of tables (after DDL, or when the rules change). */
	invalidate(): void {
		this.tables.clear();
		this.referencing = null;
		this.filter?.invalidate();
	}

	/** The target's foreign keys that act on children, by referenced table (cascades.ts); read again after DDL. */
	private referencingKeys(): Promise<Map<string, ReferencingKey[]>> {
		if (!this.referencing) {
			const p = readReferencingKeys(this.control());
			p.catch(() => {
				if (this.referencing === p) this.referencing = null;
			});
			this.referencing = p;
		}
		return this.referencing;
	}

	/** A keyed table with full images is compacted; others are applied change by change. */
	private newBatch(table: ReplayTable, mode: ReplayMode, incomplete: boolean): TableBatch | OrderedBatch {
		return table.key && !table.keepUnmapped && !incomplete
			? new TableBatch(table, mode, this.statementBytes, this.exactChecks)
			: new OrderedBatch(table, mode, this.statementBytes);
	}

	/** Routes changes through row filters, compacts them and builds the statements. */
	async prepare(changes: RowChange[], mode: ReplayMode, withKeys: boolean): Promise<Prepared> {
		// Each change's table key, computed once: the loops below run once per row change, and a
		// group holds hundreds of them over a few tables (bench/replay.ts profiles this loop).
		const tableKeys: string[] = new Array(changes.length);
		const resolved = new Map<string, ReplayTable | null>();
		for (let i = 0; i < changes.length; i++) {
			const c = changes[i] as RowChange;
			const k = tableKey(c.table);
			tableKeys[i] = k;
			if (!resolved.has(k)) resolved.set(k, await this.tables.resolve(c.table));
		}
		await this.tables.cover(changes, resolved, tableKeys);
		// Row filters: every image of a filtered table, evaluated per table in one batch.
		let routed: (RowChange | null)[] = changes;
		const filtered = [...resolved.entries()].filter(([, t]) => t?.mapping.where?.trim());
		if (filtered.length > 0) {
			if (!this.filter) {
				const t = filtered[0]?.[1] as ReplayTable;
				throw new ReplayError(
					`${t.label} has a row filter, which replay evaluates on the source: give the applier a source connection`,
					"NO_SOURCE_FOR_FILTER",
				);
			}
			routed = changes.slice();
			for (const [k, t] of filtered) {
				const table = t as ReplayTable;
				const images: { index: number; before: boolean }[] = [];
				const list = [];
				for (let i = 0; i < changes.length; i++) {
					const c = changes[i] as RowChange;
					if (tableKeys[i] !== k) continue;
					if (c.before) {
						images.push({ index: i, before: true });
						list.push(c.before);
					}
					if (c.after) {
						images.push({ index: i, before: false });
						list.push(c.after);
					}
				}
				const passes = await this.filter.evaluate(table.mapping, list);
				const verdict = new Map<number, { before: boolean; after: boolean }>();
				images.forEach((img, j) => {
					const v = verdict.get(img.index) ?? { before: false, after: false };
					if (img.before) v.before = passes[j] as boolean;
					else v.after = passes[j] as boolean;
					verdict.set(img.index, v);
				});
				for (const [i, v] of verdict) routed[i] = routeChange(changes[i] as RowChange, v.before, v.after);
			}
		}
		// A table with images older than one of its mapped columns (completeImage) is applied change
		// by change in this group: compaction's REPLACE would reset the column an update lacks.
		const incomplete = new Set<string>();
		for (let i = 0; i < changes.length; i++) {
			const k = tableKeys[i] as string;
			if (incomplete.has(k)) continue;
			const c = changes[i] as RowChange;
			const table = resolved.get(k);
			if (table && (!completeImage(table, c.before) || !completeImage(table, c.after))) incomplete.add(k);
		}
		const referencing = await this.referencingKeys();
		// What the loop needs of each table, looked up once per table rather than once per change.
		const contexts = new Map<string, { table: ReplayTable; children: ReferencingKey[] | undefined }>();
		for (const [k, table] of resolved) {
			if (table) contexts.set(k, { table, children: referencing.get(referencedKey(table.mapping.destination)) });
		}
		const batches = new Map<string, TableBatch | OrderedBatch>();
		const items: BatchItem[] = [];
		const takeBatches = () => {
			for (const b of batches.values()) for (const item of b.take()) items.push(item);
			batches.clear();
		};
		let keys: Set<string> | null = withKeys ? new Set() : null;
		for (let i = 0; i < changes.length; i++) {
			const original = changes[i] as RowChange;
			const k = tableKeys[i] as string;
			const context = contexts.get(k);
			if (!context) continue;
			const { table, children } = context;
			if (keys) {
				conflictKeys(table, original.before, keys);
				conflictKeys(table, original.after, keys);
			}
			const change = routed[i];
			const cascade = mayCascade(children, original)
				? cascadeItems(table, children as ReferencingKey[], original, mode)
				: [];
			if (cascade.length > 0) {
				// In source order around it (cascades.ts), and alone: the children it touches are no key of its group.
				takeBatches();
				keys = null;
				if (change) {
					const single = this.newBatch(table, mode, incomplete.has(k));
					single.add(change);
					items.push(...single.take());
				}
				items.push(...cascade);
				continue;
			}
			if (!change) continue;
			let batch = batches.get(k);
			if (!batch) {
				batch = this.newBatch(table, mode, incomplete.has(k));
				batches.set(k, batch);
			}
			batch.add(change);
		}
		takeBatches();
		return { items, keys };
	}
}
