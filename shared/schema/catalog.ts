import type { Connection } from "../db/connect.ts";
import { META_DATABASE } from "../replay/checkpoint.ts";

/**
 * A source server's databases and tables as the create wizard's object tree shows them: read
 * from information_schema in four statements, whatever the number of tables, values bound.
 */

/** The server's own schemas and Ferry's checkpoint database: never offered for migration. */
const HIDDEN = ["mysql", "sys", "information_schema", "performance_schema", META_DATABASE];

export interface CatalogTable {
	name: string;
	kind: "table" | "view";
	/** information_schema's estimate (InnoDB samples it); 0 for a view. */
	rowsEstimate: number;
	/** A primary or a unique key: without one a table copies as one chunk and replays by full row image. */
	hasKey: boolean;
	/** Column names in ordinal order. */
	columns: string[];
}

export interface CatalogDatabase {
	name: string;
	tables: CatalogTable[];
}

const marks = HIDDEN.map(() => "?").join(", ");

export async function listCatalog(conn: Connection): Promise<CatalogDatabase[]> {
	const [schemata] = await conn.query(
		`SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN (${marks}) ORDER BY SCHEMA_NAME`,
		HIDDEN,
	);
	const [tables] = await conn.query(
		`SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, TABLE_TYPE AS type, COALESCE(TABLE_ROWS, 0) AS est
		 FROM information_schema.TABLES
		 WHERE TABLE_SCHEMA NOT IN (${marks}) AND TABLE_TYPE IN ('BASE TABLE', 'VIEW')
		 ORDER BY TABLE_SCHEMA, TABLE_NAME`,
		HIDDEN,
	);
	// a key the copy can use (chunking/keys.ts findCopyKey): unique, no nullable column, no prefix part
	const [keys] = await conn.query(
		`SELECT s.TABLE_SCHEMA AS db, s.TABLE_NAME AS name FROM information_schema.STATISTICS s
		 JOIN information_schema.COLUMNS c
		   ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME
		 WHERE s.TABLE_SCHEMA NOT IN (${marks}) AND s.NON_UNIQUE = 0
		 GROUP BY s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME
		 HAVING SUM(c.IS_NULLABLE = 'YES') = 0 AND SUM(s.SUB_PART IS NOT NULL) = 0`,
		HIDDEN,
	);
	const [columns] = await conn.query(
		`SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, COLUMN_NAME AS col FROM information_schema.COLUMNS
		 WHERE TABLE_SCHEMA NOT IN (${marks}) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
		HIDDEN,
	);
	const id = (db: string, name: string) => `${db}\u0000${name}`;
	const keyed = new Set((keys as { db: string; name: string }[]).map((k) => id(k.db, k.name)));
	const columnsOf = new Map<string, string[]>();
	for (const c of columns as { db: string; name: string; col: string }[]) {
		const list = columnsOf.get(id(c.db, c.name)) ?? [];
		list.push(c.col);
		columnsOf.set(id(c.db, c.name), list);
	}
	const byDatabase = new Map<string, CatalogTable[]>(
		(schemata as { name: string }[]).map((s) => [s.name, [] as CatalogTable[]]),
	);
	for (const t of tables as { db: string; name: string; type: string; est: number | string }[]) {
		const view = t.type === "VIEW";
		byDatabase.get(t.db)?.push({
			name: t.name,
			kind: view ? "view" : "table",
			rowsEstimate: view ? 0 : Number(t.est),
			hasKey: keyed.has(id(t.db, t.name)),
			columns: columnsOf.get(id(t.db, t.name)) ?? [],
		});
	}
	return [...byDatabase].map(([name, list]) => ({ name, tables: list }));
}
