import { Producer } from "@platformatic/kafka";
import type { RowDataPacket } from "mysql2";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import { kafkaCredentials } from "./kafka.ts";
import {
	canalJsonDdl,
	canalJsonMessage,
	canalJsonWatermark,
	type OpenProtocolColumn,
	type OpenProtocolEvent,
	openProtocolRecord,
	type TicdcValue,
} from "./ticdc.ts";

/*
 * TiDB and TiCDC played by a MariaDB server and this class, for tests of a migration fed from
 * TiCDC (no TiDB server runs here). Each transaction runs on MariaDB, is stamped with a commit
 * TSO from MariaDB's clock (what shared/binlog/tso.ts `currentTso` reads on a non-TiDB server),
 * and its rows are written to Kafka as TiCDC would: one partition per row key, DDL to partition
 * 0 (canal-json) or to every partition (open protocol), watermarks to every partition. Like
 * TiCDC it delivers at least once and the partitions drift apart: some messages are sent twice,
 * a partition now and then sends its last messages again (a TiCDC restart), and partition 2
 * holds its messages back until the next watermark.
 */

type Format = "ticdc-canal-json" | "ticdc-open-protocol";

export type Operation =
	| { kind: "insert"; table: string; row: Record<string, unknown> }
	| { kind: "update"; table: string; id: number; set: Record<string, unknown> }
	| { kind: "delete"; table: string; id: number };

interface Column {
	name: string;
	dataType: string;
	unsigned: boolean;
}

interface Message {
	partition: number;
	key: Buffer | null;
	value: Buffer;
}

/** open-protocol type codes (MySQL's) of the column types these tests use. */
const TYPE_CODES: Record<string, number> = {
	tinyint: 1,
	smallint: 2,
	int: 3,
	float: 4,
	double: 5,
	timestamp: 7,
	bigint: 8,
	mediumint: 9,
	date: 10,
	time: 11,
	datetime: 12,
	year: 13,
	varchar: 15,
	bit: 16,
	json: 245,
	decimal: 246,
	enum: 247,
	set: 248,
	tinyblob: 249,
	mediumblob: 250,
	longblob: 251,
	blob: 252,
	text: 252,
	varbinary: 253,
	char: 254,
	binary: 254,
};

const INTEGER_TYPES = new Set(["tinyint", "smallint", "mediumint", "int", "bigint", "year", "bit", "enum", "set"]);
const BINARY_TYPES = new Set(["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"]);

export class TicdcStandIn {
	/** The commit TSO of the last transaction or DDL statement. */
	lastTs = 0n;
	private sent: Message[][] = [];
	private held: Message[] = [];
	private readonly columns = new Map<string, Column[]>();
	private lock: Promise<void> = Promise.resolve();
	readonly stats = { transactions: 0, duplicates: 0, replays: 0 };

	private constructor(
		private readonly conn: Connection,
		private readonly producer: Producer,
		private readonly database: string,
		private readonly topic: string,
		private readonly partitions: number,
		private readonly format: Format,
	) {
		this.sent = Array.from({ length: partitions }, () => []);
	}

	static async open(
		creds: Credentials,
		database: string,
		topic: string,
		partitions: number,
		format: Format,
	): Promise<TicdcStandIn> {
		const conn = await connect(creds);
		await conn.query("SET SESSION time_zone = '+00:00'");
		const producer = new Producer({ clientId: "ticdc-standin", bootstrapBrokers: kafkaCredentials.brokers });
		return new TicdcStandIn(conn, producer, database, topic, partitions, format);
	}

	async close(): Promise<void> {
		await this.producer.close();
		await this.conn.end();
	}

	/** Runs the operations as one transaction at the "TiDB" and sends TiCDC's messages for them. */
	transaction(ops: Operation[]): Promise<void> {
		return this.exclusively(async () => {
			await this.conn.query("START TRANSACTION");
			const rows: { table: string; type: "INSERT" | "UPDATE" | "DELETE"; before?: Row; after?: Row }[] = [];
			try {
				for (const op of ops) {
					const t = `${quoteId(this.database)}.${quoteId(op.table)}`;
					if (op.kind === "insert") {
						await this.conn.query(`INSERT INTO ${t} SET ?`, [op.row]);
						rows.push({ table: op.table, type: "INSERT", after: await this.row(op.table, Number(op.row.id)) });
						continue;
					}
					const before = await this.row(op.table, op.id);
					if (!before) continue;
					if (op.kind === "delete") {
						await this.conn.query(`DELETE FROM ${t} WHERE id = ?`, [op.id]);
						rows.push({ table: op.table, type: "DELETE", before });
					} else {
						await this.conn.query(`UPDATE ${t} SET ? WHERE id = ?`, [op.set, op.id]);
						rows.push({ table: op.table, type: "UPDATE", before, after: await this.row(op.table, op.id) });
					}
				}
				const ts = await this.commitTs();
				await this.conn.query("COMMIT");
				this.stats.transactions++;
				await this.send(
					await Promise.all(
						rows.map(async (r) => this.rowMessage(r.table, r.type, ts, r.before ?? null, r.after ?? null)),
					),
				);
			} catch (err) {
				await this.conn.query("ROLLBACK").catch(() => {});
				throw err;
			}
		});
	}

	/** Runs a DDL statement at the "TiDB" and sends its event. */
	ddl(table: string, sql: string): Promise<void> {
		return this.exclusively(async () => {
			await this.conn.query(`USE ${quoteId(this.database)}`);
			await this.conn.query(sql);
			this.columns.delete(table);
			const ts = await this.commitTs();
			const messages: Message[] =
				this.format === "ticdc-canal-json"
					? [{ partition: 0, key: null, value: canalJsonDdl({ database: this.database, table, sql, commitTs: ts }) }]
					: Array.from({ length: this.partitions }, (_, partition) => ({
							partition,
							...openProtocolRecord([{ kind: "ddl", ts, database: this.database, table, sql }]),
						}));
			await this.send(messages);
		});
	}

	/** Every partition's watermark: nothing below the TSO of this millisecond's start is still to come. */
	watermark(): Promise<void> {
		return this.exclusively(async () => {
			const [[row]] = await this.conn.query<RowDataPacket[]>(
				"SELECT CAST(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000) AS CHAR) AS ms",
			);
			const ts = BigInt(String(row?.ms)) << 18n;
			// the held-back partition catches up first: a watermark follows its partition's events
			const messages = [...this.held];
			this.held = [];
			for (let partition = 0; partition < this.partitions; partition++) {
				messages.push(
					this.format === "ticdc-canal-json"
						? { partition, key: null, value: canalJsonWatermark(ts) }
						: { partition, ...openProtocolRecord([{ kind: "resolved", ts }]) },
				);
			}
			await this.produce(messages);
		});
	}

	private async exclusively(work: () => Promise<void>): Promise<void> {
		const run = this.lock.then(work);
		this.lock = run.catch(() => {});
		await run;
	}

	/** A commit TSO above every earlier one, from the server's clock: what TiDB's PD would hand out. */
	private async commitTs(): Promise<bigint> {
		const [[row]] = await this.conn.query<RowDataPacket[]>(
			"SELECT CAST(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000) AS CHAR) AS ms",
		);
		const fromClock = (BigInt(String(row?.ms)) << 18n) + 1n;
		this.lastTs = fromClock > this.lastTs ? fromClock : this.lastTs + 1n;
		return this.lastTs;
	}

	private async tableColumns(table: string): Promise<Column[]> {
		let columns = this.columns.get(table);
		if (!columns) {
			const [rows] = await this.conn.query<RowDataPacket[]>(
				"SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
				[this.database, table],
			);
			columns = rows.map((r) => ({
				name: String(r.name),
				dataType: String(r.dataType),
				unsigned: /unsigned/.test(String(r.columnType)),
			}));
			this.columns.set(table, columns);
		}
		return columns;
	}

	/** A row as TiCDC carries it: ENUM, SET and BIT as integers, TIMESTAMP in UTC (the changefeed's zone here), bytes as bytes. */
	private async row(table: string, id: number): Promise<Row | undefined> {
		const columns = await this.tableColumns(table);
		const select = columns
			.map((c) => {
				const q = quoteId(c.name);
				if (BINARY_TYPES.has(c.dataType)) return `${q} AS ${q}`;
				if (["enum", "set", "bit"].includes(c.dataType)) return `CAST(${q} + 0 AS CHAR) AS ${q}`;
				return `CAST(${q} AS CHAR) AS ${q}`;
			})
			.join(", ");
		const [rows] = await this.conn.query<RowDataPacket[]>(
			`SELECT ${select} FROM ${quoteId(this.database)}.${quoteId(table)} WHERE id = ?`,
			[id],
		);
		const r = rows[0];
		if (!r) return undefined;
		return new Map(columns.map((c) => [c.name, (r[c.name] ?? null) as TicdcValue]));
	}

	private async rowMessage(
		table: string,
		type: "INSERT" | "UPDATE" | "DELETE",
		ts: bigint,
		before: Row | null,
		after: Row | null,
	): Promise<Message> {
		const columns = await this.tableColumns(table);
		const id = Number((after ?? before)?.get("id"));
		const partition = id % this.partitions;
		if (this.format === "ticdc-canal-json") {
			const image = (r: Row) => Object.fromEntries(r);
			const value = canalJsonMessage({
				database: this.database,
				table,
				type,
				commitTs: ts,
				data: [image((after ?? before) as Row)],
				...(type === "UPDATE" && before ? { old: [image(before)] } : {}),
				pkNames: ["id"],
				mysqlType: Object.fromEntries(columns.map((c) => [c.name, c.unsigned ? `${c.dataType} unsigned` : c.dataType])),
			});
			return { partition, key: null, value };
		}
		const open = (r: Row | null) => (r ? openColumns(columns, r) : undefined);
		const event: OpenProtocolEvent =
			type === "DELETE"
				? { kind: "row", ts, database: this.database, table, d: open(before) }
				: { kind: "row", ts, database: this.database, table, u: open(after), ...(before ? { p: open(before) } : {}) };
		return { partition, ...openProtocolRecord([event]) };
	}

	/** Sends a transaction's messages as TiCDC might: some twice, partition 2's later, now and then a partition's last ones again. */
	private async send(messages: Message[]): Promise<void> {
		const out: Message[] = [];
		for (const m of messages) {
			if (m.partition === 2) this.held.push(m);
			else out.push(m);
			if (Math.random() < 0.1) {
				this.stats.duplicates++;
				(m.partition === 2 ? this.held : out).push(m);
			}
			this.sent[m.partition]?.push(m);
		}
		if (Math.random() < 0.03) {
			// a TiCDC restart: partition 1 sends its last messages again
			this.stats.replays++;
			out.push(...(this.sent[1] ?? []).slice(-10));
		}
		for (const list of this.sent) list.splice(0, Math.max(0, list.length - 10));
		await this.produce(out);
	}

	private async produce(messages: Message[]): Promise<void> {
		if (messages.length === 0) return;
		await this.producer.send({
			messages: messages.map((m) => ({
				topic: this.topic,
				partition: m.partition,
				...(m.key ? { key: m.key } : {}),
				value: m.value,
			})),
		});
	}
}

type Row = Map<string, TicdcValue>;

function openColumns(columns: Column[], row: Row): Record<string, OpenProtocolColumn> {
	const out: Record<string, OpenProtocolColumn> = {};
	for (const c of columns) {
		const text = row.get(c.name) ?? null;
		const t = TYPE_CODES[c.dataType] ?? 15;
		let v: TicdcValue = text;
		if (typeof text === "string" && INTEGER_TYPES.has(c.dataType)) v = BigInt(text);
		else if (typeof text === "string" && (c.dataType === "double" || c.dataType === "float")) v = Number(text);
		out[c.name] = {
			t,
			...(c.name === "id" ? { h: true, f: 0x0a } : {}),
			...(c.unsigned ? { f: 0x80 } : {}),
			v,
		};
	}
	return out;
}
