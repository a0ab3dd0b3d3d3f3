import { findCopyKey } from "../chunking/keys.ts";
import type { Queryable } from "../db/connect.ts";
import { describeColumns } from "../db/introspect.ts";
import type { TableName } from "../model/rules.ts";
import type { SinkTable } from "./event.ts";

/**
 * The captured tables' columns and keys, read from the source's information_schema once and kept
 * until a DDL statement may have changed them. The formats need each column's type to encode its
 * values, and the key to build message keys and partitions.
 *
 * Read now, not as of the binlog event: a backlog read after a later ALTER sees the newer columns.
 * Capture names values by the columns it reads in the same way (capture/zongji-reader.ts), so the
 * two agree; a consumer of a backlog that spans a column change sees the change early.
 */
export class SinkCatalog {
	private readonly tables = new Map<string, SinkTable>();

	constructor(private readonly source: Queryable) {}

	async table(name: TableName): Promise<SinkTable> {
		const id = `${name.database}.${name.table}`;
		let table = this.tables.get(id);
		if (!table) {
			const columns = await describeColumns(this.source, name);
			const { key } = await findCopyKey(this.source, name, { columns });
			table = { name, columns, key: key?.columns.map((c) => c.name) ?? [] };
			this.tables.set(id, table);
		}
		return table;
	}

	/** After a DDL statement: its table (or, when it cannot tell, every table of the database) is read again. */
	forget(database: string, table?: string): void {
		if (table) this.tables.delete(`${database}.${table}`);
		else for (const [id, t] of this.tables) if (t.name.database === database) this.tables.delete(id);
	}
}
