import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentPosition } from "../../shared/binlog/position.ts";
import type { TransactionPart } from "../../shared/capture/change.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { Applier } from "../../shared/replay/applier.ts";
import { readCheckpoint } from "../../shared/replay/checkpoint.ts";
import { destinationCredentials, freshDatabase, uniqueDatabase } from "../support/databases.ts";
import { asAsync, identity, ins, rows, Stream } from "./helpers.ts";

/**
 * What two-way sync needs from the applier (docs/decisions/2026-11-24-two-way-loop-prevention.md):
 * the checkpoint row comes first in each destination transaction, and the peer's checkpoint-only
 * transactions move the position without a destination transaction of their own.
 */
describe("the applier's marks for two-way sync", () => {
	const db = uniqueDatabase("replay_echo");
	const meta = `${db}_meta`;
	const table = { database: db, table: "t" };
	let dst: Connection;
	const applier = (stream: string, extra: { groupRows?: number } = {}) =>
		new Applier({
			destination: destinationCredentials,
			stream,
			metaDatabase: meta,
			mapping: (t) => (t.database === db && t.table === "t" ? identity(table, ["id", "v"]) : null),
			...extra,
		});

	beforeAll(async () => {
		dst = await freshDatabase(destinationCredentials, db);
		await dst.query("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))");
	});
	afterAll(async () => {
		await dst?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await dst?.query(`DROP DATABASE IF EXISTS ${quoteId(meta)}`);
		await dst?.end();
	});

	/** The tables each binlog transaction since `from` writes, in order, for transactions touching this test's databases. */
	async function transactionsSince(from: { file: string; pos: number }): Promise<string[][]> {
		const [events] = await dst.query<RowDataPacket[]>(`SHOW BINLOG EVENTS IN ? FROM ${from.pos}`, [from.file]);
		const groups: string[][] = [];
		let current: string[] | null = null;
		for (const e of events) {
			const type = String(e.Event_type);
			if (type === "Gtid") {
				current = [];
				groups.push(current);
			} else if (type === "Table_map" && current) {
				const m = /\(`?([^`.]+)`?\.`?([^`)]+)`?\)/.exec(String(e.Info));
				if (m) current.push(`${m[1]}.${m[2]}`);
			}
		}
		return groups.filter((g) => g.some((t) => t.startsWith(db)));
	}

	it("writes the checkpoint row first in group commits and in a large transaction written in parts", async () => {
		const from = await currentPosition(dst);
		const s = new Stream(7);
		const big = Array.from({ length: 250 }, (_, i) => ins(table, { id: 1000 + i, v: "big" }));
		const parts: TransactionPart[] = [
			s.tx(ins(table, { id: 1, v: "a" })),
			s.tx(ins(table, { id: 2, v: "b" })),
			...s.big(big, 100),
			s.tx(ins(table, { id: 3, v: "c" })),
		];
		await applier("first", { groupRows: 100 }).run(asAsync(parts));
		const groups = await transactionsSince(from);
		expect(groups.length).toBeGreaterThanOrEqual(2);
		for (const g of groups) expect(g[0], JSON.stringify(groups)).toBe(`${meta}.checkpoints`);
		// the large transaction: one destination transaction, marked first, its rows after
		expect(groups.some((g) => g.filter((t) => t === `${db}.t`).length >= 3)).toBe(true);
		expect((await readCheckpoint(dst, "first", meta))?.position).toEqual(s.position());
		expect((await rows(dst, table)).length).toBe(253);
	});

	it("moves past the peer's checkpoint-only transactions without a destination transaction of their own", async () => {
		const s = new Stream(8);
		const a = applier("quiet");
		const first = s.tx(ins(table, { id: 10, v: "x" }));
		const echoes = [1, 2, 3].map(() => ({ ...s.tx(), echo: "checkpoint" as const }));
		const input = async function* () {
			yield first;
			// let the first one commit on its own
			await new Promise((r) => setTimeout(r, 200));
			const from = await currentPosition(dst);
			yield* echoes;
			await new Promise((r) => setTimeout(r, 200));
			// nothing was written for them
			expect(await transactionsSince(from)).toEqual([]);
			expect(a.progress.position).toEqual(s.position());
			expect((await readCheckpoint(dst, "quiet", meta))?.position).toEqual(s.position(s.seq - 3));
		};
		const stats = await a.run(input());
		expect(stats.unwritten).toBe(3);
		expect(stats.position).toEqual(s.position());
		// the next transaction written carries the position past them
		const b = applier("quiet");
		await b.run(asAsync([s.tx(ins(table, { id: 11, v: "y" }))]));
		expect((await readCheckpoint(dst, "quiet", meta))?.position).toEqual(s.position());
		// an empty part that is not the peer's checkpoint-only transaction is written (the checkpoint moves)
		await applier("quiet").run(asAsync([s.tx()]));
		expect((await readCheckpoint(dst, "quiet", meta))?.position).toEqual(s.position());
	});
});
