import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll } from "vitest";
import type { SourcePosition } from "../../shared/binlog/position.ts";
import type { Change, RowChange, RowImage, TransactionPart } from "../../shared/capture/change.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { TableMapping, TableName } from "../../shared/model/rules.ts";
import type { ApplierOptions } from "../../shared/replay/applier-options.ts";
import { destinationCredentials, freshDatabase, uniqueDatabase } from "../support/databases.ts";

/** Builds TransactionParts by hand, with MariaDB-style GTID positions in domain 0. */
export class Stream {
	seq = 0;
	time = Date.UTC(2026, 0, 1);

	constructor(readonly domain = 0) {}

	position(seq = this.seq): SourcePosition {
		return { gtid: `${this.domain}-1-${seq}`, file: "binlog.000001", pos: 1000 + seq };
	}

	/** One source transaction in one part. */
	tx(...changes: Change[]): TransactionPart {
		this.seq += 1;
		this.time += 1;
		return {
			gtid: `${this.domain}-1-${this.seq}`,
			start: { file: "bin.000001", pos: this.seq * 1000 },
			changes,
			final: true,
			position: this.position(),
			commitTime: this.time,
			bytes: 100 * changes.length,
		};
	}

	/** One source transaction split into parts of `size` changes. */
	*big(changes: RowChange[], size: number): Generator<TransactionPart> {
		this.seq += 1;
		this.time += 1;
		for (let i = 0; i < changes.length; i += size) {
			const final = i + size >= changes.length;
			yield {
				gtid: `${this.domain}-1-${this.seq}`,
				start: { file: "bin.000001", pos: this.seq * 1000 },
				changes: changes.slice(i, i + size),
				final,
				...(final ? { position: this.position() } : {}),
				commitTime: this.time,
				bytes: 100 * Math.min(changes.length, i + size),
			};
		}
	}
}

export function ins(table: TableName, after: RowImage): RowChange {
	return { kind: "insert", table, after };
}
export function upd(table: TableName, before: RowImage, after: RowImage): RowChange {
	return { kind: "update", table, before, after };
}
export function del(table: TableName, before: RowImage): RowChange {
	return { kind: "delete", table, before };
}

/** A mapping of every listed column to itself. */
export function identity(source: TableName, columns: string[], destination: TableName = source): TableMapping {
	return { source, destination, columns: columns.map((c) => ({ source: c, destination: c })) };
}

export async function rows(conn: Connection, table: TableName, order = "1"): Promise<RowDataPacket[]> {
	const [r] = await conn.query<RowDataPacket[]>(
		`SELECT * FROM ${quoteId(table.database)}.${quoteId(table.table)} ORDER BY ${order}`,
	);
	return r.map((x) => ({ ...x }));
}

export async function* asAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
	for (const x of items) yield x;
}

/**
 * An Applier test's destination: a fresh database and its helper schema (dropped afterwards),
 * table mappings the test fills in, and Applier options replaying into them.
 */
export function applierFixture(prefix: string) {
	const db = uniqueDatabase(prefix);
	const meta = `${db}_meta`;
	const mappings = new Map<string, TableMapping>();
	let dst: Connection | undefined;
	beforeAll(async () => {
		dst = await freshDatabase(destinationCredentials, db);
	});
	afterAll(async () => {
		await dst?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await dst?.query(`DROP DATABASE IF EXISTS ${quoteId(meta)}`);
		await dst?.end();
	});
	return {
		db,
		meta,
		mappings,
		t: (table: string): TableName => ({ database: db, table }),
		options: (stream: string, extra: Partial<ApplierOptions> = {}): ApplierOptions => ({
			destination: destinationCredentials,
			stream,
			metaDatabase: meta,
			mapping: (name) => (name.database === db ? (mappings.get(name.table) ?? null) : null),
			...extra,
		}),
		/** A connection to the destination (open between beforeAll and afterAll). */
		get dst(): Connection {
			if (!dst) throw new Error("the fixture's connection is opened in beforeAll");
			return dst;
		},
	};
}
