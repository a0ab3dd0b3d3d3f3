import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planAllChunks } from "../../shared/chunking/plan.ts";
import { copyChunk } from "../../shared/copy/chunk.ts";
import { CopyError } from "../../shared/copy/errors.ts";
import { Throttle } from "../../shared/copy/throttle.ts";
import { createPool } from "../../shared/db/connect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { TableMapping, TableName } from "../../shared/model/rules.ts";
import { uniqueDatabase } from "../support/databases.ts";
import { identity, openPair, type Pair } from "../support/pair.ts";
import { connect, copyAll, count, createBoth, destinationCredentials, dump, sourceCredentials } from "./helpers.ts";

const METHODS = ["insert", "load-data"] as const;

describe("copying chunks", () => {
	let pair: Pair;
	const t = (table: string): TableName => ({ database: pair.database, table });

	beforeAll(async () => {
		pair = await openPair(uniqueDatabase("copy"));
		await createBoth(pair, "items", "(id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(100), pad CHAR(60), INDEX (k))");
		await pair.source.query(
			`INSERT INTO ${quoteTable(t("items"))} SELECT seq, seq MOD 97, CONCAT('row ', seq, ' \\t\\n\\\\ ü'), REPEAT('p', seq MOD 60) FROM ${quoteId(pair.database)}.seq_1_to_3000`,
		);
	});
	afterAll(async () => {
		await pair?.close();
	});

	it("runs every chunk twice without doubling a row", async () => {
		const mapping = await identity(pair.source, t("items"));
		for (const method of METHODS) {
			for (let run = 0; run < 2; run++) {
				await copyAll(pair, mapping, { chunkRows: 700 }, { method, batchBytes: 4000 });
				expect(await count(pair.destination, t("items"))).toBe(3000);
			}
			expect(await dump(pair.destination, t("items"), "id")).toEqual(await dump(pair.source, t("items"), "id"));
		}
	});

	it("replaces only its own range, stray rows included", async () => {
		const mapping = await identity(pair.source, t("items"));
		await copyAll(pair, mapping, { chunkRows: 1000 });
		const chunks = await planAllChunks(pair.source, mapping, {
			chunkRows: 1000,
		});
		const d = quoteTable(t("items"));
		// In chunk 1's range [1001, 2001): a changed row and a row the source does not have.
		await pair.destination.query(`UPDATE ${d} SET c = 'changed' WHERE id IN (500, 1500)`);
		await pair.destination.query(`DELETE FROM ${d} WHERE id = 1600`);
		await pair.source.query(`DELETE FROM ${quoteTable(t("items"))} WHERE id = 1700`);
		const result = await copyChunk(pair.source, pair.destination, mapping, chunks[1] as (typeof chunks)[number]);
		expect(result.rows).toBe(999);
		const [rows] = await pair.destination.query<RowDataPacket[]>(
			`SELECT id, c FROM ${d} WHERE id IN (500, 1500, 1600, 1700) ORDER BY id`,
		);
		// Chunk 0's row keeps its local change; chunk 1's range is the source's again.
		expect(rows.map((r) => [r.id, r.c])).toEqual([
			[500, "changed"],
			[1500, "row 1500 \t\n\\ ü"],
			[1600, "row 1600 \t\n\\ ü"],
		]);
		await pair.source.query(
			`INSERT INTO ${quoteTable(t("items"))} VALUES (1700, 1700 MOD 97, CONCAT('row ', 1700, ' \\t\\n\\\\ ü'), REPEAT('p', 1700 MOD 60))`,
		);
	});

	for (const method of METHODS) {
		it(`re-runs a chunk that died after a committed batch (${method})`, async () => {
			const mapping = await identity(pair.source, t("items"));
			await pair.destination.query(`TRUNCATE TABLE ${quoteTable(t("items"))}`);
			const [chunk] = await planAllChunks(pair.source, mapping, {
				chunkRows: 100_000,
			});
			if (!chunk) throw new Error("no chunk");
			const src = await connect(sourceCredentials);
			const dst = await connect(destinationCredentials);
			let batches = 0;
			const dying = copyChunk(src, dst, mapping, chunk, {
				method,
				batchBytes: 5000,
				onBatch: (p) => {
					batches++;
					if (p.committedRows >= 300) throw new Error("worker killed");
				},
			});
			await expect(dying).rejects.toThrow("worker killed");
			const partial = await count(pair.destination, t("items"));
			expect(partial).toBeGreaterThanOrEqual(300);
			expect(partial).toBeLessThan(3000);
			expect(batches).toBeGreaterThan(1);
			const again = await copyChunk(pair.source, pair.destination, mapping, chunk, { method });
			expect(again.rows).toBe(3000);
			expect(await dump(pair.destination, t("items"), "id")).toEqual(await dump(pair.source, t("items"), "id"));
		});
	}

	it("leaves no trace of a chunk whose destination connection died mid-transaction", async () => {
		const mapping = await identity(pair.source, t("items"));
		const d = quoteTable(t("items"));
		await copyAll(pair, mapping, { chunkRows: 100_000 });
		await pair.destination.query(`UPDATE ${d} SET c = 'before' WHERE id = 42`);
		const [chunk] = await planAllChunks(pair.source, mapping, {
			chunkRows: 100_000,
		});
		if (!chunk) throw new Error("no chunk");
		const src = await connect(sourceCredentials);
		const dst = await connect(destinationCredentials);
		const dying = copyChunk(src, dst, mapping, chunk, {
			batchBytes: 5000,
			commitBytes: Number.POSITIVE_INFINITY,
			onBatch: (p) => {
				if (p.rows >= 1000) dst.destroy();
			},
		});
		await expect(dying).rejects.toMatchObject({
			name: "CopyError",
			code: "DESTINATION_FAILED",
		});
		// The DELETE and the batches were one uncommitted transaction: all rolled back.
		const [[row]] = await pair.destination.query<RowDataPacket[]>(`SELECT c FROM ${d} WHERE id = 42`);
		expect(row?.c).toBe("before");
		expect(await count(pair.destination, t("items"))).toBe(3000);
		await copyChunk(pair.source, pair.destination, mapping, chunk);
		expect(await dump(pair.destination, t("items"), "id")).toEqual(await dump(pair.source, t("items"), "id"));
	});

	it("lets one attempt at a chunk run at a time", async () => {
		const mapping = await identity(pair.source, t("items"));
		const [chunk] = await planAllChunks(pair.source, mapping, {
			chunkRows: 100_000,
		});
		if (!chunk) throw new Error("no chunk");
		let release = () => {};
		const paused = new Promise<void>((resolve) => {
			release = resolve;
		});
		let started = () => {};
		const running = new Promise<void>((resolve) => {
			started = resolve;
		});
		const first = copyChunk(pair.source, pair.destination, mapping, chunk, {
			batchBytes: 5000,
			onBatch: async () => {
				started();
				await paused;
			},
		});
		await running;
		const src = await connect(sourceCredentials);
		const dst = await connect(destinationCredentials);
		const second = await copyChunk(src, dst, mapping, chunk, {
			lockWaitSeconds: 0,
		}).catch((e: unknown) => e);
		expect(second).toMatchObject({ code: "CHUNK_BUSY" });
		release();
		expect((await first).rows).toBe(3000);
		// The lock went with the first attempt: the chunk can run again.
		expect(
			(
				await copyChunk(pair.source, pair.destination, mapping, chunk, {
					lockWaitSeconds: 0,
				})
			).rows,
		).toBe(3000);
		expect(await dump(pair.destination, t("items"), "id")).toEqual(await dump(pair.source, t("items"), "id"));
	});

	it("copies chunks of one table in parallel through pools", async () => {
		const mapping = await identity(pair.source, t("items"));
		await pair.destination.query(`TRUNCATE TABLE ${quoteTable(t("items"))}`);
		const source = createPool(sourceCredentials, 4);
		const destination = createPool(destinationCredentials, 4);
		try {
			const chunks = await planAllChunks(source, mapping, { chunkRows: 300 });
			for (const method of METHODS) {
				const results = await Promise.all(
					chunks.map((c) =>
						copyChunk(source, destination, mapping, c, {
							method,
							batchBytes: 3000,
						}),
					),
				);
				expect(results.reduce((a, r) => a + r.rows, 0)).toBe(3000);
				expect(await dump(pair.destination, t("items"), "id")).toEqual(await dump(pair.source, t("items"), "id"));
			}
		} finally {
			await Promise.all([source.end(), destination.end()]);
		}
	});

	for (const method of METHODS) {
		it(`honours the row filter, column selection and renames (${method})`, async () => {
			const table = `renamed_${method.replace("-", "_")}`;
			await pair.destination.query(
				`CREATE TABLE ${quoteTable(t(table))} (ident INT PRIMARY KEY, kappa INT NOT NULL, text_c VARCHAR(100), extra VARCHAR(10) NOT NULL DEFAULT 'x', twice INT AS (kappa * 2) VIRTUAL)`,
			);
			const mapping: TableMapping = {
				source: t("items"),
				destination: t(table),
				columns: [
					{ source: "id", destination: "ident" },
					{ source: "k", destination: "kappa" },
					{ source: "c", destination: "text_c" },
				],
				where: "k % 2 = 0 AND id <= 2500",
			};
			for (let run = 0; run < 2; run++) await copyAll(pair, mapping, { chunkRows: 400 }, { method, batchBytes: 3000 });
			const [expected] = await pair.source.query<RowDataPacket[]>(
				`SELECT id, k, c, 'x' AS extra, CONCAT(k * 2) AS twice FROM ${quoteTable(t("items"))} WHERE k % 2 = 0 AND id <= 2500 ORDER BY id`,
			);
			const [actual] = await pair.destination.query<RowDataPacket[]>(
				`SELECT ident AS id, kappa AS k, text_c AS c, extra, CONCAT(twice) AS twice FROM ${quoteTable(t(table))} ORDER BY ident`,
			);
			expect(actual.length).toBeGreaterThan(1000);
			expect(actual).toEqual(expected);
		});
	}

	it("copies a table without a key as one chunk, emptying the destination first", async () => {
		await createBoth(pair, "heap", "(a INT, b VARCHAR(10))");
		await pair.source.query(
			`INSERT INTO ${quoteTable(t("heap"))} SELECT seq MOD 10, 'dup' FROM ${quoteId(pair.database)}.seq_1_to_500`,
		);
		await pair.destination.query(`INSERT INTO ${quoteTable(t("heap"))} VALUES (1, 'stale')`);
		const mapping = await identity(pair.source, t("heap"));
		for (const method of METHODS) {
			for (let run = 0; run < 2; run++) {
				const { chunks } = await copyAll(pair, mapping, { chunkRows: 100 }, { method, batchBytes: 1000 });
				expect(chunks).toHaveLength(1);
				expect(chunks[0]?.kind).toBe("whole");
			}
			expect(await count(pair.destination, t("heap"))).toBe(500);
			expect(await dump(pair.destination, t("heap"), "a, b")).toEqual(await dump(pair.source, t("heap"), "a, b"));
		}
	});

	it("copies a one-column table holding an empty string and NULL", async () => {
		await createBoth(pair, "single", "(v VARCHAR(10))");
		await pair.source.query(`INSERT INTO ${quoteTable(t("single"))} VALUES (''), (NULL), (''), ('\\N'), (' ')`);
		const mapping = await identity(pair.source, t("single"));
		for (const method of METHODS) {
			await copyAll(pair, mapping, { chunkRows: 10 }, { method });
			expect(await dump(pair.destination, t("single"), "v")).toEqual(await dump(pair.source, t("single"), "v"));
		}
	});

	it("copies rows larger than a batch", async () => {
		await createBoth(pair, "big", "(id INT PRIMARY KEY, b LONGBLOB, t LONGTEXT)");
		await pair.source.query(
			`INSERT INTO ${quoteTable(t("big"))} VALUES (1, RANDOM_BYTES(1024), 'x'), (2, REPEAT(UNHEX('5C09'), 600000), REPEAT('\\\t€', 200000)), (3, NULL, '')`,
		);
		const mapping = await identity(pair.source, t("big"));
		for (const method of METHODS) {
			const { results } = await copyAll(pair, mapping, { chunkRows: 2 }, { method, batchBytes: 100_000 });
			expect(results.reduce((a, r) => a + r.rows, 0)).toBe(3);
			expect(await dump(pair.destination, t("big"), "id")).toEqual(await dump(pair.source, t("big"), "id"));
		}
	});

	it("fails clearly when the destination table or a column is missing", async () => {
		const mapping = {
			...(await identity(pair.source, t("items"))),
			destination: t("nowhere"),
		};
		const [chunk] = await planAllChunks(pair.source, mapping, {
			chunkRows: 100_000,
		});
		if (!chunk) throw new Error("no chunk");
		const error = await copyChunk(pair.source, pair.destination, mapping, chunk).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(CopyError);
		expect(error).toMatchObject({ code: "DESTINATION_TABLE_MISSING" });
		expect((error as Error).message).toContain(`destination table ${pair.database}.nowhere does not exist`);

		await pair.destination.query(`CREATE TABLE ${quoteTable(t("narrow"))} (id INT PRIMARY KEY, k INT)`);
		const narrow = { ...mapping, destination: t("narrow") };
		const missing = await copyChunk(pair.source, pair.destination, narrow, {
			...chunk,
			destination: t("narrow"),
		}).catch((e: unknown) => e);
		expect(missing).toMatchObject({ code: "DESTINATION_COLUMN_MISSING" });
		expect((missing as Error).message).toContain(`${pair.database}.narrow has no column c`);

		// A string key compared under another collation at the destination would not find the
		// chunk's rows there.
		await createBoth(
			pair,
			"coll",
			"(k VARCHAR(10) COLLATE utf8mb4_general_ci PRIMARY KEY)",
			"(k VARCHAR(10) COLLATE utf8mb4_bin PRIMARY KEY)",
		);
		const collMapping = await identity(pair.source, t("coll"));
		const [collChunk] = await planAllChunks(pair.source, collMapping, { chunkRows: 10 });
		if (!collChunk) throw new Error("no chunk");
		const mismatch = await copyChunk(pair.source, pair.destination, collMapping, collChunk).catch((e: unknown) => e);
		expect(mismatch).toMatchObject({ code: "KEY_COLLATION_MISMATCH" });
		expect((mismatch as Error).message).toContain("utf8mb4_bin");
	});

	it("throttles rows per second by sleeping", async () => {
		const mapping = await identity(pair.source, t("items"));
		const [chunk] = await planAllChunks(pair.source, mapping, {
			chunkRows: 100_000,
		});
		if (!chunk) throw new Error("no chunk");
		const started = performance.now();
		// 3000 rows at 2000 rows/s: the throttle starts with nothing saved up, so about 1.5 s.
		await copyChunk(pair.source, pair.destination, mapping, chunk, {
			maxRowsPerSecond: 2000,
			batchBytes: 5000,
		});
		expect(performance.now() - started).toBeGreaterThan(1200);
		// chunks smaller than a second of the rate are held to it too (each has a throttle of its own)
		const small = await planAllChunks(pair.source, mapping, { chunkRows: 1000 });
		const smallStarted = performance.now();
		for (const c of small) await copyChunk(pair.source, pair.destination, mapping, c, { maxRowsPerSecond: 2000 });
		expect(small.length).toBe(3);
		expect(performance.now() - smallStarted).toBeGreaterThan(1200);
		const throttle = new Throttle({
			maxBytesPerSecond: 1000,
			burstSeconds: 0.1,
		});
		const t0 = performance.now();
		await throttle.take(1, 100);
		await throttle.take(1, 200);
		expect(performance.now() - t0).toBeGreaterThan(150);
	});

	it("stops at the next batch when aborted", async () => {
		const mapping = await identity(pair.source, t("items"));
		const [chunk] = await planAllChunks(pair.source, mapping, {
			chunkRows: 100_000,
		});
		if (!chunk) throw new Error("no chunk");
		const controller = new AbortController();
		const src = await connect(sourceCredentials);
		const dst = await connect(destinationCredentials);
		const aborted = copyChunk(src, dst, mapping, chunk, {
			batchBytes: 5000,
			signal: controller.signal,
			onBatch: () => controller.abort(),
		});
		await expect(aborted).rejects.toMatchObject({ code: "ABORTED" });
	});
});

describe("hostile identifiers", () => {
	let pair: Pair;
	// Backticks, quotes, a question mark (the driver's placeholder), a comment opener, unicode.
	const table = "t`a'b\"c ü€? -- x";
	const columns = ["id`x", "?", "na'me", 'co"l ü', "-- c", "\\N"];

	beforeAll(async () => {
		pair = await openPair(`${uniqueDatabase("copy")}\`'"ü?`);
		const ddl = `(${quoteId("id`x")} INT NOT NULL, ${quoteId("?")} VARCHAR(10) NOT NULL, ${quoteId("na'me")} VARCHAR(20), ${quoteId('co"l ü')} BLOB, ${quoteId("-- c")} INT, ${quoteId("\\N")} TEXT, PRIMARY KEY (${quoteId("id`x")}, ${quoteId("?")}))`;
		await createBoth(pair, table, ddl);
		await pair.source.query(
			`INSERT INTO ${quoteTable({ database: pair.database, table })} SELECT seq DIV 3, CONCAT('?', seq MOD 3), 'it''s ?', UNHEX('5C3F27'), seq, '\\\\N' FROM ${quoteId(pair.database)}.seq_1_to_1000`,
		);
	});
	afterAll(async () => {
		await pair?.close();
	});

	for (const method of METHODS) {
		it(`plans and copies them (${method})`, async () => {
			const name = { database: pair.database, table };
			const mapping = await identity(pair.source, name);
			expect(mapping.columns.map((c) => c.source)).toEqual(columns);
			await pair.destination.query(`DELETE FROM ${quoteTable(name)}`);
			const { chunks } = await copyAll(
				pair,
				{ ...mapping, where: `${quoteId("-- c")} <> 7` },
				{ chunkRows: 150 },
				{ method, batchBytes: 2000 },
			);
			expect(chunks.length).toBeGreaterThan(5);
			expect(chunks[1]).toMatchObject({
				kind: "range",
				key: { columns: [{ source: "id`x" }, { source: "?" }] },
			});
			await pair.source.query(`DELETE FROM ${quoteTable(name)} WHERE ${quoteId("-- c")} = 7`);
			expect(await count(pair.destination, name)).toBe(999);
			expect(await dump(pair.destination, name, "`-- c`")).toEqual(await dump(pair.source, name, "`-- c`"));
			await pair.source.query(
				`INSERT INTO ${quoteTable(name)} VALUES (2, '?1', 'it''s ?', UNHEX('5C3F27'), 7, '\\\\N')`,
			);
		});
	}
});
