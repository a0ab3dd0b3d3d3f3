import type { Connection } from "../db/connect.ts";
import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import { BINARY_STRING_TYPES } from "../db/types.ts";
import type { TableName } from "../model/rules.ts";
import { SchemaError } from "./errors.ts";
import {
	type CheckSchema,
	type ColumnDefault,
	type ColumnSchema,
	type DatabaseSchema,
	type ForeignKeySchema,
	type IndexSchema,
	isCurrentTimestamp,
	type SchemaSnapshot,
	type ServerInfo,
	type TableOption,
	type TableSchema,
	tableKey,
	type ViewSchema,
} from "./snapshot.ts";
import { nameChains, tokenize, unquoteStringLiteral } from "./sqltext.ts";

/**
 * Reads the source schema of the mapped tables and views from information_schema.
 *
 * Temporary tables are never read: they live in one session and information_schema does not list
 * them (MariaDB 11.2+ lists only the asking session's own), so the rules cannot select them and
 * nothing here can see them. That is the "temporary tables are filtered out" of OMS, by design.
 *
 * All queries filter on `TABLE_SCHEMA = ?`, one database at a time, which lets the server open
 * only that database's tables.
 */

type Row = Record<string, unknown>;

/** Which server this is, from VERSION(): MariaDB, MySQL, TiDB (`...-TiDB-v7.5.0`) or OceanBase (`...-OceanBase_CE-v4.2.1.0`). */
export async function describeServer(conn: Connection): Promise<ServerInfo> {
	const [rows] = await conn.query("SELECT VERSION() AS v");
	const versionText = String((rows as Row[])[0]?.v ?? "");
	const numbers = (re: RegExp) => versionText.match(re)?.[1] ?? "0.0.0";
	if (/TiDB/i.test(versionText))
		return {
			flavor: "tidb",
			version: numbers(/TiDB-v(\d+\.\d+\.\d+)/i),
			versionText,
		};
	if (/OceanBase/i.test(versionText)) {
		return {
			flavor: "oceanbase",
			version: numbers(/OceanBase[\w-]*?-v(\d+\.\d+\.\d+)/i),
			versionText,
		};
	}
	const flavor = /MariaDB/i.test(versionText) ? "mariadb" : "mysql";
	return { flavor, version: numbers(/^(\d+\.\d+\.\d+)/), versionText };
}

export async function readSchema(
	conn: Connection,
	tables: readonly TableName[],
	views: readonly TableName[] = [],
): Promise<SchemaSnapshot> {
	const server = await describeServer(conn);
	const databases = [...new Set([...tables, ...views].map((t) => t.database))];
	const snapshot: SchemaSnapshot = {
		server,
		databases: [],
		tables: [],
		views: [],
	};
	for (const database of databases) {
		const wantedTables = new Set(tables.filter((t) => t.database === database).map((t) => t.table));
		const wantedViews = new Set(views.filter((t) => t.database === database).map((t) => t.table));
		snapshot.databases.push(await readDatabase(conn, database));
		if (wantedTables.size > 0) snapshot.tables.push(...(await readTables(conn, server, database, wantedTables)));
		if (wantedViews.size > 0) snapshot.views.push(...(await readViews(conn, database, wantedViews)));
	}
	const found = new Set([...snapshot.tables, ...snapshot.views].map((t) => tableKey(t.name)));
	for (const t of [...tables, ...views]) {
		if (!found.has(tableKey(t))) {
			throw new SchemaError(qualifiedName(t), "no longer exists on the source", "resolve the object rules again");
		}
	}
	return snapshot;
}

async function query(conn: Connection, sql: string, params: unknown[]): Promise<Row[]> {
	const [rows] = await conn.query(sql, params);
	return rows as Row[];
}

const text = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

/** Every collation name starts with its character set's name (`utf8mb4_general_ci`, `binary`). */
function charsetOf(collation: string): string {
	return collation.split("_")[0] as string;
}

async function readDatabase(conn: Connection, database: string): Promise<DatabaseSchema> {
	const [row] = await query(
		conn,
		"SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
		[database],
	);
	if (!row)
		throw new SchemaError(database, "database no longer exists on the source", "resolve the object rules again");
	return { name: database, charset: text(row.cs), collation: text(row.co) };
}

async function readTables(
	conn: Connection,
	server: ServerInfo,
	database: string,
	wanted: Set<string>,
): Promise<TableSchema[]> {
	const tableRows = await query(
		conn,
		`SELECT TABLE_NAME AS name, ENGINE AS engine, TABLE_COLLATION AS co, TABLE_COMMENT AS comment,
		        AUTO_INCREMENT AS ai, CREATE_OPTIONS AS options
		 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'`,
		[database],
	);
	const tables = new Map<string, TableSchema>();
	for (const r of tableRows) {
		const name = text(r.name);
		if (!wanted.has(name)) continue;
		const collation = text(r.co);
		const options = parseCreateOptions(text(r.options));
		tables.set(name, {
			name: { database, table: name },
			engine: r.engine ? text(r.engine) : null,
			charset: charsetOf(collation),
			collation,
			comment: text(r.comment),
			autoIncrement: r.ai === null || r.ai === undefined ? null : text(r.ai),
			options: options.filter((o) => o.name !== "partitioned"),
			partitioned: options.some((o) => o.name === "partitioned"),
			columns: [],
			indexes: [],
			foreignKeys: [],
			checks: [],
		});
	}
	await readColumns(conn, server, database, tables);
	await readIndexes(conn, database, tables);
	await readForeignKeys(conn, database, tables);
	await readChecks(conn, server, database, tables);
	await readBinaryDefaults(conn, tables);
	return [...tables.values()];
}

/** CREATE_OPTIONS is a space-separated list of `name=value` (and the bare word `partitioned`). */
function parseCreateOptions(options: string): TableOption[] {
	return options
		.split(/\s+/)
		.filter(Boolean)
		.map((o) => {
			const eq = o.indexOf("=");
			return eq === -1
				? { name: o.toLowerCase(), value: "" }
				: { name: o.slice(0, eq).toLowerCase(), value: o.slice(eq + 1) };
		});
}

const NUMERIC_LITERAL = /^(-?\d+(\.\d+)?(e[+-]?\d+)?|b'[01]*'|0x[0-9a-f]+)$/i;

async function readColumns(
	conn: Connection,
	server: ServerInfo,
	database: string,
	tables: Map<string, TableSchema>,
): Promise<void> {
	const rows = await query(
		conn,
		`SELECT TABLE_NAME AS t, COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType,
		        IS_NULLABLE AS nullable, COLUMN_DEFAULT AS dflt, CHARACTER_SET_NAME AS cs, COLLATION_NAME AS co,
		        COLUMN_COMMENT AS comment, EXTRA AS extra, GENERATION_EXPRESSION AS generation
		 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
		[database],
	);
	for (const r of rows) {
		const table = tables.get(text(r.t));
		if (!table) continue;
		const extra = text(r.extra);
		const generatedKind = /\b(VIRTUAL|STORED|PERSISTENT) GENERATED\b/i.exec(extra)?.[1]?.toUpperCase();
		let generation = text(r.generation);
		// MySQL prints quotes inside GENERATION_EXPRESSION backslash-escaped (`_utf8mb4\'x\'`).
		if (server.flavor === "mysql") generation = generation.replaceAll("\\'", "'");
		const column: ColumnSchema = {
			name: text(r.name),
			dataType: text(r.dataType).toLowerCase(),
			columnType: text(r.columnType),
			nullable: r.nullable === "YES",
			default: { kind: "none" },
			charset: r.cs ? text(r.cs) : null,
			collation: r.co ? text(r.co) : null,
			comment: text(r.comment),
			generated: generatedKind
				? {
						kind: generatedKind === "VIRTUAL" ? "virtual" : "stored",
						expression: generation,
					}
				: null,
			autoIncrement: /\bauto_increment\b/i.test(extra),
			onUpdate: /\bon update (\w+(?:\(\d*\))?)/i.exec(extra)?.[1] ?? null,
			invisible: /\bINVISIBLE\b/i.test(extra),
			check: null,
		};
		column.default = parseDefault(r.dflt === null || r.dflt === undefined ? null : text(r.dflt), column, server, extra);
		table.columns.push(column);
	}
}

/**
 * MariaDB (10.2.7+) quotes string literals in COLUMN_DEFAULT, prints `NULL` for DEFAULT NULL and
 * leaves numbers and expressions bare. MySQL prints literals bare and marks expression defaults
 * DEFAULT_GENERATED in EXTRA (8.0.13+; before that only CURRENT_TIMESTAMP could be one).
 */
function parseDefault(raw: string | null, column: ColumnSchema, server: ServerInfo, extra: string): ColumnDefault {
	if (column.generated || column.autoIncrement) return { kind: "none" };
	const binary = BINARY_STRING_TYPES.has(column.dataType);
	if (server.flavor === "mariadb") {
		if (raw === null) return { kind: "none" };
		if (raw === "NULL") return { kind: "null" };
		if (raw.startsWith("'")) {
			const value = unquoteStringLiteral(raw);
			// information_schema is utf8, so bytes that are not text come out mangled: read them again (readBinaryDefaults).
			return binary ? { kind: "bytes", hex: Buffer.from(value).toString("hex") } : { kind: "string", value };
		}
		return NUMERIC_LITERAL.test(raw) ? { kind: "number", text: raw } : { kind: "expression", sql: raw };
	}
	if (raw === null) return column.nullable ? { kind: "null" } : { kind: "none" };
	if (/\bDEFAULT_GENERATED\b/i.test(extra) || isCurrentTimestamp(raw)) return { kind: "expression", sql: raw };
	if (binary) return { kind: "bytes", hex: Buffer.from(raw).toString("hex") };
	if (column.charset !== null) return { kind: "string", value: raw };
	return NUMERIC_LITERAL.test(raw) ? { kind: "number", text: raw } : { kind: "string", value: raw };
}

/** Reads literal defaults of binary-string columns as bytes, through DEFAULT() on a row-less join. */
async function readBinaryDefaults(conn: Connection, tables: Map<string, TableSchema>): Promise<void> {
	for (const table of tables.values()) {
		const columns = table.columns.filter((c) => c.default.kind === "bytes");
		if (columns.length === 0) continue;
		const list = columns.map((c, i) => `HEX(DEFAULT(t.${quoteId(c.name)})) AS c${i}`).join(", ");
		const [row] = await query(
			conn,
			`SELECT ${list} FROM (SELECT 1) AS one LEFT JOIN ${quoteTable(table.name)} AS t ON FALSE`,
			[],
		);
		columns.forEach((c, i) => {
			c.default = { kind: "bytes", hex: text(row?.[`c${i}`]).toLowerCase() };
		});
	}
}

async function readIndexes(conn: Connection, database: string, tables: Map<string, TableSchema>): Promise<void> {
	// SELECT *: IGNORED exists on MariaDB 10.6+, IS_VISIBLE and EXPRESSION on MySQL 8.
	const rows = await query(conn, "SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?", [database]);
	const byTable = new Map<string, Map<string, { index: IndexSchema; seq: number[] }>>();
	for (const r of rows) {
		const tableName = text(r.TABLE_NAME);
		if (!tables.has(tableName)) continue;
		const indexes = byTable.get(tableName) ?? new Map();
		byTable.set(tableName, indexes);
		const name = text(r.INDEX_NAME);
		const type = text(r.INDEX_TYPE).toUpperCase();
		let entry = indexes.get(name);
		if (!entry) {
			const kind =
				name === "PRIMARY"
					? "primary"
					: type === "FULLTEXT"
						? "fulltext"
						: type === "SPATIAL"
							? "spatial"
							: String(r.NON_UNIQUE) === "0"
								? "unique"
								: "index";
			entry = {
				index: {
					name,
					kind,
					parts: [],
					hash: type === "HASH",
					comment: text(r.INDEX_COMMENT),
					invisible: r.IGNORED === "YES" || r.IS_VISIBLE === "NO",
				},
				seq: [],
			};
			indexes.set(name, entry);
		}
		const wholeColumn = entry.index.kind === "fulltext" || entry.index.kind === "spatial";
		entry.index.parts.push({
			column: text(r.COLUMN_NAME),
			length: wholeColumn || r.SUB_PART === null ? null : Number(r.SUB_PART),
			descending: r.COLLATION === "D",
			...(r.EXPRESSION ? { expression: text(r.EXPRESSION) } : {}),
		});
		entry.seq.push(Number(r.SEQ_IN_INDEX));
	}
	const rank = {
		primary: 0,
		unique: 1,
		index: 2,
		fulltext: 2,
		spatial: 2,
	} as const;
	for (const [tableName, indexes] of byTable) {
		const table = tables.get(tableName) as TableSchema;
		const list = [...indexes.values()].map(({ index, seq }) => {
			const order = seq.map((s, i) => ({
				s,
				part: index.parts[i] as IndexSchema["parts"][number],
			}));
			order.sort((a, b) => a.s - b.s);
			return { ...index, parts: order.map((o) => o.part) };
		});
		// The server's key order (primary, unique, others in creation order); sort is stable.
		table.indexes = list.sort((a, b) => rank[a.kind] - rank[b.kind]);
	}
}

async function readForeignKeys(conn: Connection, database: string, tables: Map<string, TableSchema>): Promise<void> {
	const constraints = await query(
		conn,
		`SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS name, UPDATE_RULE AS onUpdate, DELETE_RULE AS onDelete
		 FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
		[database],
	);
	const columns = await query(
		conn,
		`SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS name, COLUMN_NAME AS col, REFERENCED_TABLE_SCHEMA AS refDb,
		        REFERENCED_TABLE_NAME AS refTable, REFERENCED_COLUMN_NAME AS refCol
		 FROM information_schema.KEY_COLUMN_USAGE
		 WHERE CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
		[database],
	);
	for (const c of constraints) {
		const table = tables.get(text(c.t));
		if (!table) continue;
		const parts = columns.filter((k) => k.t === c.t && k.name === c.name);
		const first = parts[0];
		if (!first) continue;
		const fk: ForeignKeySchema = {
			name: text(c.name),
			columns: parts.map((p) => text(p.col)),
			referenced: { database: text(first.refDb), table: text(first.refTable) },
			referencedColumns: parts.map((p) => text(p.refCol)),
			onUpdate: text(c.onUpdate),
			onDelete: text(c.onDelete),
		};
		table.foreignKeys.push(fk);
	}
}

/**
 * MariaDB lists CHECK constraints with their table and LEVEL (Column for checks written on a
 * column, like JSON's json_valid); MySQL 8.0.16+ needs TABLE_CONSTRAINTS for the table. Servers
 * without CHECK_CONSTRAINTS have no enforced checks to read.
 */
async function readChecks(
	conn: Connection,
	server: ServerInfo,
	database: string,
	tables: Map<string, TableSchema>,
): Promise<void> {
	let rows: Row[];
	try {
		rows =
			server.flavor === "mariadb"
				? await query(
						conn,
						`SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause, LEVEL AS level
						 FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`,
						[database],
					)
				: await query(
						conn,
						`SELECT tc.TABLE_NAME AS t, cc.CONSTRAINT_NAME AS name, cc.CHECK_CLAUSE AS clause, 'Table' AS level
						 FROM information_schema.CHECK_CONSTRAINTS cc
						 JOIN information_schema.TABLE_CONSTRAINTS tc
						   ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME
						  AND tc.CONSTRAINT_TYPE = 'CHECK'
						 WHERE cc.CONSTRAINT_SCHEMA = ?`,
						[database],
					);
	} catch (err) {
		if ((err as { code?: string }).code === "ER_UNKNOWN_TABLE") return;
		throw err;
	}
	for (const r of rows) {
		const table = tables.get(text(r.t));
		if (!table) continue;
		const check: CheckSchema = { name: text(r.name), clause: text(r.clause) };
		const column = r.level === "Column" ? table.columns.find((c) => c.name === check.name) : undefined;
		if (column) column.check = check.clause;
		else table.checks.push(check);
	}
}

async function readViews(conn: Connection, database: string, wanted: Set<string>): Promise<ViewSchema[]> {
	// ALGORITHM is MariaDB's; MySQL does not list it, and UNDEFINED is what it means there.
	const rows = await query(conn, "SELECT * FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", [database]);
	const views: ViewSchema[] = [];
	for (const r of rows) {
		const name = text(r.TABLE_NAME);
		if (!wanted.has(name)) continue;
		const definition = text(r.VIEW_DEFINITION);
		if (!definition) {
			throw new SchemaError(
				`${database}.${name}`,
				"the view's definition is not readable by Ferry's source user",
				"grant it SHOW VIEW on the database",
			);
		}
		views.push({
			name: { database, table: name },
			definition,
			checkOption: (text(r.CHECK_OPTION) || "NONE") as ViewSchema["checkOption"],
			algorithm: text(r.ALGORITHM) || "UNDEFINED",
			references: [],
		});
	}
	await findViewReferences(conn, views);
	return views;
}

/**
 * The server stores view definitions with every table qualified by its database
 * (`db`.`t`), so a pair of quoted names that exists as a table or view is a reference.
 */
async function findViewReferences(conn: Connection, views: ViewSchema[]): Promise<void> {
	const candidates = views.map((v) =>
		nameChains(tokenize(v.definition))
			.filter((c) => c.parts.length >= 2)
			.map((c) => ({
				database: c.parts[0] as string,
				table: c.parts[1] as string,
			})),
	);
	const databases = [...new Set(candidates.flat().map((c) => c.database))];
	if (databases.length === 0) return;
	const existing = new Set(
		(
			await query(
				conn,
				"SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?)",
				[databases],
			)
		).map((r) => tableKey({ database: text(r.db), table: text(r.t) })),
	);
	views.forEach((view, i) => {
		const seen = new Set<string>();
		for (const c of candidates[i] ?? []) {
			const key = tableKey(c);
			if (existing.has(key) && !seen.has(key)) {
				seen.add(key);
				view.references.push(c);
			}
		}
	});
}
