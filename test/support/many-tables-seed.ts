import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";

/**
 * A source database of many tables, mixed as real schemas are: most small (a primary key, a
 * secondary index, a few rows), a few large, some without any key, some children with a foreign
 * key to a small table, and views over small tables. Used by test/e2e/many-tables.test.ts and
 * bench/many-tables.ts.
 */
export interface ManyTablesShape {
	/** Tables in all (views not counted). */
	tables: number;
	/** Of them, large ones of `bigRows` rows each. */
	big: number;
	bigRows: number;
	/** Of them, without a primary or unique key. */
	keyless: number;
	/** Of them, children with a foreign key to a small table. */
	children: number;
	/** Views, beside the tables. */
	views: number;
	/** Rows of every table that is not large. */
	smallRows: number;
}

/** The default mix for `tables`: 0.5% large (at least 2), 5% keyless, 10% children, 5% views. */
export function shapeFor(tables: number, bigRows = 20_000, smallRows = 8): ManyTablesShape {
	const big = Math.max(2, Math.round(tables * 0.005));
	const keyless = Math.max(1, Math.round(tables * 0.05));
	const children = Math.max(1, Math.round(tables * 0.1));
	return { tables, big, bigRows, keyless, children, views: Math.max(1, Math.round(tables * 0.05)), smallRows };
}

export interface SeededTables {
	/** Small tables with a key: the ones the write load changes. */
	small: string[];
	all: string[];
	views: string[];
}

const name = (prefix: string, i: number) => `${prefix}${String(i).padStart(5, "0")}`;

function values(rows: number, row: (r: number) => string): string {
	return Array.from({ length: rows }, (_, r) => row(r + 1)).join(", ");
}

/** Creates `database` on the source (dropped first) with the tables and views of `shape`. */
export async function seedManyTables(
	creds: Credentials,
	database: string,
	shape: ManyTablesShape,
): Promise<SeededTables> {
	const small = shape.tables - shape.big - shape.keyless - shape.children;
	if (small < 1) throw new Error(`shape of ${shape.tables} tables leaves no small table`);
	const c: Connection = await connect(creds);
	const out: SeededTables = { small: [], all: [], views: [] };
	try {
		await c.query(`DROP DATABASE IF EXISTS ${quoteId(database)}`);
		await c.query(`CREATE DATABASE ${quoteId(database)} CHARACTER SET utf8mb4`);
		await c.query(`USE ${quoteId(database)}`);
		const rows = shape.smallRows;
		for (let i = 1; i <= small; i++) {
			const t = name("t", i);
			await c.query(
				`CREATE TABLE ${t} (id INT PRIMARY KEY, label VARCHAR(40) NOT NULL, n INT NOT NULL, KEY n (n)) ENGINE=InnoDB`,
			);
			await c.query(`INSERT INTO ${t} VALUES ${values(rows, (r) => `(${r}, 'row ${r} of ${t}', ${r * 7})`)}`);
			out.small.push(t);
		}
		for (let i = 1; i <= shape.keyless; i++) {
			const t = name("k", i);
			await c.query(`CREATE TABLE ${t} (a INT, b VARCHAR(20)) ENGINE=InnoDB`);
			// a duplicate row too: keyless tables are compared as multisets
			await c.query(`INSERT INTO ${t} VALUES ${values(rows, (r) => `(${r % 3}, 'k${r % 3}')`)}`);
			out.all.push(t);
		}
		for (let i = 1; i <= shape.children; i++) {
			const t = name("c", i);
			const parent = name("t", ((i - 1) % small) + 1);
			await c.query(
				`CREATE TABLE ${t} (id INT PRIMARY KEY, parent_id INT NOT NULL, note VARCHAR(20), CONSTRAINT ${t}_fk FOREIGN KEY (parent_id) REFERENCES ${parent} (id)) ENGINE=InnoDB`,
			);
			await c.query(`INSERT INTO ${t} VALUES ${values(rows, (r) => `(${r}, ${((r - 1) % rows) + 1}, 'child')`)}`);
			out.all.push(t);
		}
		for (let i = 1; i <= shape.big; i++) {
			const t = name("b", i);
			await c.query(
				`CREATE TABLE ${t} (id INT PRIMARY KEY, pad CHAR(120) NOT NULL, n INT NOT NULL, KEY n (n)) ENGINE=InnoDB`,
			);
			await c.query(
				`INSERT INTO ${t} SELECT seq, REPEAT(CHAR(97 + seq % 26), 120), seq % 1000 FROM seq_1_to_${shape.bigRows}`,
			);
			out.all.push(t);
		}
		for (let i = 1; i <= shape.views; i++) {
			const v = name("v", i);
			await c.query(`CREATE VIEW ${v} AS SELECT id, label FROM ${name("t", ((i - 1) % small) + 1)} WHERE n > 7`);
			out.views.push(v);
		}
		out.all.push(...out.small);
		return out;
	} finally {
		await c.end();
	}
}

/**
 * Changes rows of the small tables (inserts, updates, deletes, one table after the other) until
 * aborted, so replay has work across many tables. Returns the statements committed.
 */
export async function writeAcrossTables(
	creds: Credentials,
	database: string,
	tables: readonly string[],
	signal: AbortSignal,
	pauseMs = 20,
): Promise<number> {
	const c = await connect(creds);
	let n = 0;
	try {
		await c.query(`USE ${quoteId(database)}`);
		while (!signal.aborted) {
			const t = tables[n % tables.length] as string;
			const id = 1000 + Math.floor(n / tables.length);
			await c.query(`INSERT INTO ${t} VALUES (?, 'written during the copy', ?)`, [id, n]);
			await c.query(`UPDATE ${t} SET n = n + 1 WHERE id = 1`);
			// (a row of its own: the seeded ones may have children)
			if (n % 4 === 3) await c.query(`DELETE FROM ${t} WHERE id = ?`, [id]);
			n += 1;
			await new Promise((r) => setTimeout(r, pauseMs));
		}
	} finally {
		await c.end();
	}
	return n;
}
