/**
 * A quick local throughput figure for the chunked copy (not a test, not the benchmark of record):
 * copies a sysbench-like table of ROWS rows (id INT PK, k INT, c CHAR(120), pad CHAR(60)) with
 * PARALLEL chunks at once, creates the secondary index on k afterwards, checks CHECKSUM TABLE.
 *
 *   ROWS=1000000 PARALLEL=2 CHUNK_ROWS=100000 npx tsx bench/copy-chunk.ts
 *
 * Both databases (ferry_copybench) are dropped at the end; KEEP_SOURCE=1 keeps the source table
 * for the next run.
 */
import type { RowDataPacket } from "mysql2";
import { type ChunkSpec, planChunks } from "../shared/chunking/plan.ts";
import { copyChunk } from "../shared/copy/chunk.ts";
import type { WriteMethod } from "../shared/copy/chunk-session.ts";
import { connect, createPool } from "../shared/db/connect.ts";
import type { TableMapping } from "../shared/model/rules.ts";
import { destinationCredentials, sourceCredentials } from "../test/support/databases.ts";

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const PARALLEL = Number(process.env.PARALLEL ?? 2);
const CHUNK_ROWS = Number(process.env.CHUNK_ROWS ?? 100_000);
const copyOptions = {
	...(process.env.BATCH_BYTES ? { batchBytes: Number(process.env.BATCH_BYTES) } : {}),
	...(process.env.COMMIT_BYTES ? { commitBytes: Number(process.env.COMMIT_BYTES) } : {}),
	...(process.env.BULK ? { disableUniqueChecks: true } : {}),
	...(process.env.METHOD ? { method: process.env.METHOD as WriteMethod } : {}),
};
const DB = "ferry_copybench";
const DDL =
	"(id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id))";

const src = await connect(sourceCredentials);
await src.query(`CREATE DATABASE IF NOT EXISTS ${DB}`);
const [[have]] = await src.query<RowDataPacket[]>(
	`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${DB}' AND TABLE_NAME = 'sbtest1'`,
);
let count = 0;
if (Number(have?.n) > 0) {
	const [[c]] = await src.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${DB}.sbtest1`);
	count = Number(c?.n);
}
if (count !== ROWS) {
	console.log(`loading ${ROWS} rows into the source...`);
	await src.query(`DROP TABLE IF EXISTS ${DB}.sbtest1`);
	await src.query(`CREATE TABLE ${DB}.sbtest1 ${DDL}`);
	const digits = "LPAD(FLOOR(RAND() * 99999999999), 11, '0')";
	const groups = (n: number) => `CONCAT_WS('-', ${Array.from({ length: n }, () => digits).join(", ")})`;
	for (let start = 1; start <= ROWS; start += 100_000) {
		const end = Math.min(ROWS, start + 99_999);
		await src.query(
			`INSERT INTO ${DB}.sbtest1 (id, k, c, pad) SELECT seq, FLOOR(RAND() * ${ROWS}), ${groups(10)}, ${groups(5)} FROM ${DB}.seq_${start}_to_${end}`,
		);
	}
	await src.query(`ALTER TABLE ${DB}.sbtest1 ADD INDEX k_1 (k)`);
	await src.query(`ANALYZE TABLE ${DB}.sbtest1`);
}
await src.query(`SELECT COUNT(*), SUM(LENGTH(c)) FROM ${DB}.sbtest1`); // warm the buffer pool

const dst = await connect(destinationCredentials);
await dst.query(`DROP DATABASE IF EXISTS ${DB}`);
await dst.query(`CREATE DATABASE ${DB}`);
await dst.query(`CREATE TABLE ${DB}.sbtest1 ${DDL}`);

const mapping: TableMapping = {
	source: { database: DB, table: "sbtest1" },
	destination: { database: DB, table: "sbtest1" },
	columns: ["id", "k", "c", "pad"].map((c) => ({ source: c, destination: c })),
};
const sourcePool = createPool(sourceCredentials, PARALLEL);
const destinationPool = createPool(destinationCredentials, PARALLEL);

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const chunks: ChunkSpec[] = [];
for await (const c of planChunks(src, mapping, { chunkRows: CHUNK_ROWS })) chunks.push(c);
const tPlan = performance.now();
let next = 0;
let copied = 0;
let method = "";
await Promise.all(
	Array.from({ length: PARALLEL }, async () => {
		while (next < chunks.length) {
			const chunk = chunks[next++] as ChunkSpec;
			const r = await copyChunk(sourcePool, destinationPool, mapping, chunk, copyOptions);
			copied += r.rows;
			method = r.method;
		}
	}),
);
const tCopy = performance.now();
await dst.query(`ALTER TABLE ${DB}.sbtest1 ADD INDEX k_1 (k)`);
const tIndex = performance.now();
const cpu = process.cpuUsage(cpu0);

const [[a]] = await src.query<RowDataPacket[]>(`CHECKSUM TABLE ${DB}.sbtest1`);
const [[b]] = await dst.query<RowDataPacket[]>(`CHECKSUM TABLE ${DB}.sbtest1`);
const s = (ms: number) => (ms / 1000).toFixed(2);
console.log(
	`${method}: ${copied} rows, ${chunks.length} chunks, ${PARALLEL} parallel: plan ${s(tPlan - t0)} s, copy ${s(tCopy - tPlan)} s, index ${s(tIndex - tCopy)} s, total ${s(tIndex - t0)} s = ${Math.round(copied / ((tIndex - t0) / 1000))} rows/s (copy alone ${Math.round(copied / ((tCopy - tPlan) / 1000))} rows/s); client CPU ${s((cpu.user + cpu.system) / 1000)} s; max RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB; checksums ${a?.Checksum} ${b?.Checksum} ${a?.Checksum === b?.Checksum ? "match" : "DIFFER"}`,
);
await dst.query(`DROP DATABASE ${DB}`);
if (!process.env.KEEP_SOURCE) await src.query(`DROP DATABASE ${DB}`);
await Promise.all([sourcePool.end(), destinationPool.end(), src.end(), dst.end()]);
