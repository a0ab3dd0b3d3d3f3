import type { Pool } from "../db/connect.ts";
import { mapTable } from "../ddl/rules.ts";
import { includingRule, type ObjectRules, type TableMapping, type TableName } from "../model/rules.ts";
import { FatalReplicationError } from "../replay/fatal.ts";
import { capturedColumns } from "../replication/mappings.ts";
import { SinkCatalog } from "./catalog.ts";
import type { SinkTable } from "./event.ts";

const key = (t: TableName) => `${t.database}.${t.table}`;

/** A captured table as a synchronization project sends it: the rule's mapping and the columns the formats see. */
export interface SyncTable {
	mapping: TableMapping;
	/** Destination names (the rules' renames), the selected columns only. */
	table: SinkTable;
}

/**
 * The tables a synchronization stream sends, chosen by the project's rules as a migration's are
 * (wildcards, exclusions, renames, column selection, row filters): those resolved when the
 * session opened, and any the rules take that appears later (a CREATE TABLE in the binlog). Each
 * is described from the source as it is now and again after DDL on it.
 */
export class SyncTables {
	private readonly mapped = new Map<string, Promise<SyncTable | undefined>>();
	private readonly catalog: SinkCatalog;

	constructor(
		private readonly source: Pool,
		private readonly rules: ObjectRules,
	) {
		this.catalog = new SinkCatalog(source);
	}

	/** Whether capture must decode the table's rows: the rules take it, now or once it exists. */
	captures(t: TableName): boolean {
		return includingRule(this.rules, t) !== undefined;
	}

	/** The table's mapping and columns, or undefined when the rules leave it out (or it no longer exists). */
	get(t: TableName): Promise<SyncTable | undefined> {
		let found = this.mapped.get(key(t));
		if (!found) {
			found = this.describe(t);
			found.catch(() => this.mapped.delete(key(t)));
			this.mapped.set(key(t), found);
		}
		return found;
	}

	/** After DDL: the table (or every table of the database) is described again when next met. */
	forget(database: string, table?: string): void {
		this.catalog.forget(database, table);
		for (const id of [...this.mapped.keys()]) {
			if (table ? id === `${database}.${table}` : id.startsWith(`${database}.`)) this.mapped.delete(id);
		}
	}

	private async describe(t: TableName): Promise<SyncTable | undefined> {
		const match = includingRule(this.rules, t);
		if (!match) return undefined;
		const columns = await capturedColumns(this.source, t);
		if (columns.length === 0) return undefined;
		const mapped = mapTable(t, match, columns);
		if ("refusal" in mapped) throw new FatalReplicationError(`rows of ${key(t)} arrive: ${mapped.refusal}`);
		const { mapping } = mapped;
		const raw = await this.catalog.table(t);
		const selected = mapping.columns.flatMap((c) => {
			const info = raw.columns.find((r) => r.name.toLowerCase() === c.source.toLowerCase());
			return info ? [{ ...info, name: c.destination }] : [];
		});
		const destinationOf = (name: string) =>
			mapping.columns.find((c) => c.source.toLowerCase() === name.toLowerCase())?.destination;
		const keyColumns = raw.key.map(destinationOf);
		return {
			mapping,
			table: {
				name: mapping.destination,
				columns: selected,
				key: keyColumns.every((c) => c !== undefined) ? (keyColumns as string[]) : [],
			},
		};
	}
}
