import type { RowDataPacket } from "mysql2";
import type { DdlChange, RowChange } from "../../shared/capture/change.ts";
import { openBinlogReader } from "../../shared/capture/reader.ts";
import type { BinlogReader } from "../../shared/capture/reader-types.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { DdlCorpusOutcome } from "../../shared/ddl/doc.ts";
import { applyDdlEffects, translateDdl } from "../../shared/ddl/translate.ts";
import type { ObjectRules, TableMapping } from "../../shared/model/rules.ts";
import { executeDdl } from "../../shared/replay/ddl-execute.ts";
import { uniqueServerId } from "../capture/support.ts";
import { destinationCredentials, freshDatabase, sourceCredentials, uniqueDatabase } from "./databases.ts";

/**
 * The differential DDL harness: each statement of a corpus runs at the source MariaDB as an
 * application would, comes back through Ferry's real capture (with its session context), is
 * translated and run at the destination the way replay runs it (ddl-execute.ts, in a session
 * set up like the applier's), and then both ends are compared: SHOW CREATE TABLE and the rows
 * of every table. A statement that leaves the ends different must say so (a refusal, or a
 * warning or conversion note); after it, the destination is put right by hand, as a user
 * would before skipping, so the next statement starts from equal tables.
 */

export interface CorpusSession {
	sqlMode?: string;
	timeZone?: string;
	explicitDefaultsForTimestamp?: boolean;
}

export interface CorpusGroup {
	name: string;
	/** Run at both ends directly (tables and rows to start from), in the group's session. */
	setup?: string[];
	session?: CorpusSession;
	statements: string[];
}

export type Outcome = DdlCorpusOutcome["outcome"];

export interface StatementOutcome extends DdlCorpusOutcome {
	/** Set when the ends differ without a word, or the destination failed: the harness fails on it. */
	silent?: string;
}

const REPLAY_SESSION =
	"SET SESSION time_zone = '+00:00', sql_mode = 'IGNORE_SPACE,STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', foreign_key_checks = 0";

export class DifferentialHarness {
	// one name at both ends: views are replayed only where no rule renames what they read
	readonly source = uniqueDatabase("ddl_corpus");
	readonly destination = this.source;
	private readonly meta = `${this.destination}_meta`;
	private src!: Connection;
	private dst!: Connection;
	private replay!: Connection;
	private reader!: BinlogReader;
	private mappings: TableMapping[] = [];
	private sentinel = 0;

	/** A message with this run's database name replaced by the corpus's own (`shop`). */
	anonymise(text: string): string {
		return text.replaceAll(this.source, "shop");
	}

	get rules(): ObjectRules {
		return [{ database: this.source, table: "*", exclude: false }];
	}

	async open(): Promise<void> {
		this.src = await freshDatabase(sourceCredentials, this.source);
		this.dst = await freshDatabase(destinationCredentials, this.destination);
		await this.dst.query("SET SESSION foreign_key_checks = 0");
		this.replay = await connect(destinationCredentials);
		await this.replay.query(REPLAY_SESSION);
		await this.replay.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(this.meta)}`);
		this.reader = await openBinlogReader(sourceCredentials, {
			from: "now",
			serverId: uniqueServerId(),
			// rows only matter inside a DDL transaction (CREATE TABLE ... SELECT)
			include: (t) => t.database === this.source,
			includeDdl: (d) => d.database === this.source,
		});
	}

	async close(): Promise<void> {
		await this.reader?.close();
		for (const [conn, db] of [
			[this.src, this.source],
			[this.dst, this.destination],
			[this.dst, this.meta],
		] as const) {
			await conn?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`).catch(() => {});
		}
		await Promise.all([this.src?.end(), this.dst?.end(), this.replay?.end()]);
	}

	async runGroup(group: CorpusGroup): Promise<StatementOutcome[]> {
		await this.enterSession(this.src, group.session);
		await this.enterSession(this.dst, group.session);
		for (const sql of group.setup ?? []) {
			await this.src.query(sql);
			await this.dst.query(sql);
		}
		await this.drain();
		await this.remap();
		const outcomes: StatementOutcome[] = [];
		for (const sql of group.statements) {
			if (/^(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(sql)) {
				// rows are replay's other half, tested elsewhere: both ends take them alike
				await this.src.query(sql);
				await this.dst.query(sql);
				continue;
			}
			outcomes.push(await this.runStatement(group.name, sql));
		}
		await this.clear();
		return outcomes;
	}

	private async enterSession(conn: Connection, s: CorpusSession | undefined): Promise<void> {
		await conn.query("SET SESSION sql_mode = ?, time_zone = ?, explicit_defaults_for_timestamp = ?", [
			s?.sqlMode ?? "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
			s?.timeZone ?? "+00:00",
			s?.explicitDefaultsForTimestamp === false ? 0 : 1,
		]);
	}

	private async runStatement(group: string, sql: string): Promise<StatementOutcome> {
		try {
			await this.src.query(sql);
		} catch (err) {
			return {
				group,
				sql,
				outcome: "identical",
				silent: `the source refused the statement: ${(err as Error).message}`,
			};
		}
		const changes = await this.drain();
		let outcome: Outcome = "identical";
		const messages: string[] = [];
		for (const { change, rows } of changes) {
			const decision = translateDdl(change, {
				rules: this.rules,
				mappings: this.mappings,
				destinationEngine: "mariadb",
			});
			if (decision.action === "refuse") {
				outcome = "refused";
				messages.push(decision.reason);
				continue;
			}
			if (decision.action === "ignore") {
				if (outcome === "identical") outcome = "ignored";
				messages.push(decision.reason);
				continue;
			}
			const run = () =>
				executeDdl(this.replay, decision, {
					stream: "ddl-corpus",
					ddlId: `${this.sentinel}`,
					session: change.session,
					destinationEngine: "mariadb",
					metaDatabase: this.meta,
				}).then(
					() => null,
					(err: Error) => err.message,
				);
			const first = await run();
			// and once more, as after a crash between the statement and replay's checkpoint
			const again = first === null ? await run() : null;
			if (first !== null || again !== null) {
				// a statement the destination refuses stops replay: never acceptable for the corpus
				await this.resync();
				const failure = first !== null ? first : `running it again after a crash: ${again}`;
				return { group, sql, outcome, silent: `the destination failed: ${failure}` };
			}
			this.mappings = applyDdlEffects(this.mappings, decision.effects);
			messages.push(...decision.warnings, ...decision.changes);
			// CREATE TABLE ... SELECT: its rows follow as row events, which replay applies
			for (const r of rows) {
				const columns = Object.keys(r.after ?? {});
				await this.dst.query(
					`INSERT INTO ${quoteId(this.destination)}.${quoteId(r.table.table)} (${columns.map(quoteId).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
					columns.map((c) => r.after?.[c]),
				);
			}
		}
		const difference = await this.difference();
		const result: StatementOutcome = { group, sql, outcome };
		if (difference !== null) {
			if (outcome === "identical") result.outcome = "differs";
			if (messages.length === 0) result.silent = difference;
			await this.resync();
		}
		if (result.outcome !== "identical" && messages.length > 0) result.message = messages.join("; ");
		return result;
	}

	/** The DDL captured up to a sentinel statement run after the last one, each with the rows of its transaction. */
	private async drain(): Promise<{ change: DdlChange; rows: RowChange[] }[]> {
		this.sentinel += 1;
		const mark = `ferry_corpus_sentinel_${this.sentinel}`;
		await this.src.query(`DROP TABLE IF EXISTS ${quoteId(mark)}`);
		const out: { change: DdlChange; rows: RowChange[] }[] = [];
		const deadline = Date.now() + 15_000;
		for (;;) {
			if (Date.now() > deadline) throw new Error(`the sentinel ${mark} did not arrive`);
			const { value, done } = await this.reader.next();
			if (done) throw new Error("capture ended");
			let last: { change: DdlChange; rows: RowChange[] } | undefined;
			for (const c of value.changes) {
				if (c.kind !== "ddl") {
					last?.rows.push(c);
					continue;
				}
				if (c.sql.includes(mark)) return out;
				last = { change: c, rows: [] };
				out.push(last);
			}
		}
	}

	/** What differs between the ends, or null. */
	private async difference(): Promise<string | null> {
		const [a, b] = await Promise.all([snapshot(this.src, this.source), snapshot(this.dst, this.destination)]);
		const names = [...new Set([...a.keys(), ...b.keys()])].sort();
		for (const n of names) {
			const x = a.get(n);
			const y = b.get(n);
			if (!x) return `table ${n} exists at the destination only`;
			if (!y) return `table ${n} is missing at the destination`;
			if (x.create !== y.create) return `${n}: source\n${x.create}\ndestination\n${y.create}`;
			if (x.rows !== y.rows) return `${n}: rows differ: source ${x.rows} destination ${y.rows}`;
		}
		return null;
	}

	/** Puts the destination right by hand, as a user would before skipping a statement. */
	private async resync(): Promise<void> {
		const [a, b] = await Promise.all([snapshot(this.src, this.source), snapshot(this.dst, this.destination)]);
		await this.dst.query(`USE ${quoteId(this.destination)}`);
		for (const [n, t] of b) await this.dst.query(`DROP ${t.view ? "VIEW" : "TABLE"} IF EXISTS ${quoteId(n)}`);
		// base tables before views, which read them
		const ordered = [...a].sort(([, x], [, y]) => Number(x.view) - Number(y.view));
		for (const [n, t] of ordered) {
			await this.dst.query(t.create);
			if (t.view) continue;
			const columns = (await columnsOf(this.src, this.source, n)).filter((c) => !c.generated).map((c) => c.name);
			const [rows] = await this.src.query<RowDataPacket[]>(
				`SELECT ${columns.map(quoteId).join(", ")} FROM ${quoteId(n)}`,
			);
			for (const row of rows) {
				await this.dst.query(
					`INSERT INTO ${quoteId(n)} (${columns.map(quoteId).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
					columns.map((c) => row[c]),
				);
			}
		}
		await this.remap();
	}

	/** The mappings: every source table to the destination table of the same name, all columns. */
	private async remap(): Promise<void> {
		const [rows] = await this.src.query<RowDataPacket[]>(
			"SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
			[this.source],
		);
		const byTable = new Map<string, string[]>();
		for (const r of rows) byTable.set(String(r.t), [...(byTable.get(String(r.t)) ?? []), String(r.c)]);
		this.mappings = [...byTable].map(([table, columns]) => ({
			source: { database: this.source, table },
			destination: { database: this.destination, table },
			columns: columns.map((c) => ({ source: c, destination: c })),
		}));
	}

	private async clear(): Promise<void> {
		await this.src.query("SET SESSION foreign_key_checks = 0");
		for (const [conn, db] of [
			[this.src, this.source],
			[this.dst, this.destination],
		] as const) {
			const [rows] = await conn.query<RowDataPacket[]>(
				"SELECT TABLE_NAME AS t, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
				[db],
			);
			for (const r of rows) {
				const kind = String(r.k) === "VIEW" ? "VIEW" : "TABLE";
				await conn.query(`DROP ${kind} IF EXISTS ${quoteId(db)}.${quoteId(String(r.t))}`);
			}
		}
		await this.src.query("SET SESSION foreign_key_checks = 1");
		await this.drain();
		this.mappings = [];
	}
}

interface TableSnapshot {
	create: string;
	rows: string;
	view: boolean;
}

async function columnsOf(
	conn: Connection,
	database: string,
	table: string,
): Promise<{ name: string; generated: boolean }[]> {
	const [rows] = await conn.query<RowDataPacket[]>(
		"SELECT COLUMN_NAME AS name, IS_GENERATED AS g FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
		[database, table],
	);
	return rows.map((r) => ({ name: String(r.name), generated: String(r.g) === "ALWAYS" }));
}

/** SHOW CREATE TABLE and the rows (sorted, in UTC) of every table and view of the database. */
async function snapshot(conn: Connection, database: string): Promise<Map<string, TableSnapshot>> {
	const [tables] = await conn.query<RowDataPacket[]>(
		"SELECT TABLE_NAME AS t, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
		[database],
	);
	const out = new Map<string, TableSnapshot>();
	await conn.query("SET @ferry_corpus_tz = @@session.time_zone, SESSION time_zone = '+00:00'");
	try {
		for (const t of tables) {
			const name = String(t.t);
			const qualified = `${quoteId(database)}.${quoteId(name)}`;
			const [[created]] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${qualified}`);
			const create = String(created?.["Create Table"] ?? created?.["Create View"] ?? "")
				.replaceAll(`${quoteId(database)}.`, "")
				.replace(/ DEFINER=`[^`]*`@`[^`]*`/, "")
				.replace(/ SQL SECURITY (DEFINER|INVOKER)/, "");
			const view = String(t.k) === "VIEW";
			// every column, the invisible ones too
			const columns = (await columnsOf(conn, database, name)).map((c) => quoteId(c.name)).join(", ");
			const [rows] = view
				? [[] as RowDataPacket[]]
				: await conn.query<RowDataPacket[]>(`SELECT ${columns} FROM ${qualified}`);
			const texts = rows.map((r) =>
				JSON.stringify(r, (_k, v) => (v?.type === "Buffer" ? Buffer.from(v.data).toString("hex") : v)),
			);
			out.set(name, { create, rows: JSON.stringify(texts.sort()), view });
		}
	} finally {
		await conn.query("SET SESSION time_zone = @ferry_corpus_tz");
	}
	return out;
}
