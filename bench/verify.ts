/**
 * Full verification, side by side, on the sysbench tables `sbtest.sbtest1..N` already present on
 * both local servers (bench/full-migration.ts leaves them there):
 * - CHECKSUM TABLE on both servers at once (whole tables, no chunks, no row diff possible);
 * - a pt-table-checksum-style serial chunked CRC32 scan: 10,000-id chunks,
 *   `COUNT(*), BIT_XOR(CRC32(CONCAT_WS('#', id, k, c, pad)))`, source then destination, serially;
 * - Ferry's verifyTable per table (key-range chunks, both sides queried at once, normalised rows,
 *   two independent 32-bit hash sums per chunk).
 *
 *   npx tsx bench/verify.ts [--tables 4] [--rows 1000000] [--chunk-rows 50000] [--concurrency 2]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { RowDataPacket } from "mysql2";
import { createPool, type Pool } from "../shared/db/connect.ts";
import { localInstance } from "../shared/local/instances.ts";
import { verifyTable } from "../shared/verify/verify-table.ts";
import {
	fmt,
	localServers,
	log,
	machineFact,
	markdownTable,
	positive,
	quoteId,
	RESULTS_DIR,
	serverFact,
	stamp,
	textTable,
	workDir,
} from "./support.ts";

const { values: args } = parseArgs({
	options: {
		tables: { type: "string", default: "4" },
		rows: { type: "string", default: "1000000" },
		"chunk-rows": { type: "string", default: "50000" },
		concurrency: { type: "string", default: "2" },
	},
});
const TABLES = positive("tables", args.tables);
const ROWS = positive("rows", args.rows);
const CHUNK_ROWS = positive("chunk-rows", args["chunk-rows"]);
const CONCURRENCY = positive("concurrency", args.concurrency);
const SERIAL_CHUNK = 10_000;
const DB = "sbtest";
const NAMES = Array.from({ length: TABLES }, (_, i) => `sbtest${i + 1}`);
const table = (t: string) => `${quoteId(DB)}.${quoteId(t)}`;

const WORK = workDir();
const servers = localServers(WORK);
const source = createPool(localInstance("source"), CONCURRENCY + 2);
const destination = createPool(localInstance("destination"), CONCURRENCY + 2);

async function rows<T = RowDataPacket>(pool: Pool, sql: string, values: unknown[] = []): Promise<T[]> {
	const [r] = await pool.query<RowDataPacket[]>(sql, values);
	return r as T[];
}

async function checkTables(): Promise<void> {
	for (const [name, pool] of [
		["source", source],
		["destination", destination],
	] as const) {
		const have = await rows<{ t: string }>(
			pool,
			"SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE 'sbtest%'",
			[DB],
		);
		const missing = NAMES.filter((n) => !have.some((h) => h.t === n));
		if (missing.length) {
			console.error(
				`verify: the ${name} lacks ${missing.map((m) => `${DB}.${m}`).join(", ")}.\n` +
					`Create them on both servers first, e.g.:\n  npx tsx bench/full-migration.ts --tables ${TABLES} --rows ${ROWS} --only ferry\n` +
					"(it prepares the sysbench tables on the source and leaves the copy at the destination).",
			);
			process.exit(1);
		}
	}
	for (const n of NAMES) {
		const [s, d] = await Promise.all(
			[source, destination].map((p) => rows<{ n: string }>(p, `SELECT COUNT(*) AS n FROM ${table(n)}`)),
		);
		const a = Number(s?.[0]?.n);
		const b = Number(d?.[0]?.n);
		if (a !== ROWS || b !== ROWS) {
			console.error(
				`verify: ${DB}.${n} holds ${a} rows at the source and ${b} at the destination, not ${ROWS} on both: rerun bench/full-migration.ts with --rows ${ROWS}, or pass --rows ${a}`,
			);
			process.exit(1);
		}
	}
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
	const t = performance.now();
	const value = await fn();
	return { seconds: (performance.now() - t) / 1000, value };
}

/** CHECKSUM TABLE of all tables, both servers at once. */
async function checksumTable(): Promise<{ differing: number }> {
	const list = NAMES.map(table).join(", ");
	const [a, b] = await Promise.all([
		rows<{ Table: string; Checksum: string }>(source, `CHECKSUM TABLE ${list}`),
		rows<{ Table: string; Checksum: string }>(destination, `CHECKSUM TABLE ${list}`),
	]);
	return { differing: a.filter((r, i) => String(r.Checksum) !== String(b[i]?.Checksum)).length };
}

/** pt-table-checksum style: serial 10k-id chunks, source then destination. */
async function serialScan(): Promise<{ chunks: number; differing: number }> {
	let chunks = 0;
	let differing = 0;
	for (const n of NAMES) {
		const [mm] = await rows<{ lo: string; hi: string }>(source, `SELECT MIN(id) AS lo, MAX(id) AS hi FROM ${table(n)}`);
		const lo = Number(mm?.lo ?? 0);
		const hi = Number(mm?.hi ?? -1);
		for (let start = lo; start <= hi; start += SERIAL_CHUNK) {
			const sql = `SELECT COUNT(*) AS cnt, COALESCE(LOWER(CONV(BIT_XOR(CAST(CRC32(CONCAT_WS('#', id, k, c, pad)) AS UNSIGNED)), 10, 16)), 0) AS crc
				FROM ${table(n)} FORCE INDEX (PRIMARY) WHERE id >= ? AND id < ?`;
			const [s] = await rows<{ cnt: string; crc: string }>(source, sql, [start, start + SERIAL_CHUNK]);
			const [d] = await rows<{ cnt: string; crc: string }>(destination, sql, [start, start + SERIAL_CHUNK]);
			chunks += 1;
			if (String(s?.cnt) !== String(d?.cnt) || String(s?.crc) !== String(d?.crc)) differing += 1;
		}
	}
	return { chunks, differing };
}

async function ferry(): Promise<{ chunks: number; differing: number; differences: number; rows: number }> {
	let chunks = 0;
	let differing = 0;
	let differences = 0;
	let checked = 0;
	for (const n of NAMES) {
		const t = { database: DB, table: n };
		const mapping = {
			source: t,
			destination: t,
			columns: ["id", "k", "c", "pad"].map((c) => ({ source: c, destination: c })),
		};
		const v = await verifyTable(source, destination, mapping, { chunkRows: CHUNK_ROWS, concurrency: CONCURRENCY });
		chunks += v.chunks.total;
		differing += v.chunks.differing;
		differences += v.missing + v.extra + v.different;
		checked += v.rowsChecked;
	}
	return { chunks, differing, differences, rows: checked };
}

async function main(): Promise<void> {
	await checkTables();
	const facts = [machineFact(), await serverFact(servers.source), await serverFact(servers.destination)];
	log(`warming both buffer pools (CHECKSUM TABLE, not timed) for ${TABLES} x ${ROWS} rows`);
	await checksumTable();

	log("CHECKSUM TABLE, both servers at once");
	const ct = await timed(checksumTable);
	log(`  ${fmt(ct.seconds, 2)} s, ${ct.value.differing} differing tables`);
	log(`serial chunked CRC32 scan (${SERIAL_CHUNK}-id chunks)`);
	const pt = await timed(serialScan);
	log(`  ${fmt(pt.seconds, 2)} s, ${pt.value.chunks} chunks, ${pt.value.differing} differing`);
	log(`Ferry verifyTable (chunks of ${CHUNK_ROWS}, concurrency ${CONCURRENCY}, both sides at once)`);
	const fv = await timed(ferry);
	log(
		`  ${fmt(fv.seconds, 2)} s, ${fv.value.chunks} chunks, ${fv.value.differing} differing, ${fv.value.differences} row differences, ${fv.value.rows} rows checked`,
	);

	const total = TABLES * ROWS;
	const header = ["method", "seconds", "rows/s", "vs serial scan", "differing chunks/tables", "row-level diff"];
	const body = [
		[
			"CHECKSUM TABLE (both servers at once)",
			fmt(ct.seconds, 2),
			fmt(total / ct.seconds, 0),
			`${fmt(pt.seconds / ct.seconds, 2)}x`,
			`${ct.value.differing} tables`,
			"no",
		],
		[
			"serial chunked CRC32 (pt-table-checksum style)",
			fmt(pt.seconds, 2),
			fmt(total / pt.seconds, 0),
			"1.00x",
			`${pt.value.differing} / ${pt.value.chunks} chunks`,
			"no",
		],
		[
			`Ferry verifyTable (chunkRows ${CHUNK_ROWS}, concurrency ${CONCURRENCY})`,
			fmt(fv.seconds, 2),
			fmt(total / fv.seconds, 0),
			`${fmt(pt.seconds / fv.seconds, 2)}x`,
			`${fv.value.differing} / ${fv.value.chunks} chunks`,
			"yes",
		],
	];
	console.log(`\n${textTable(header, body)}\n`);
	const file = join(RESULTS_DIR, `verify-${stamp()}.md`);
	writeFileSync(
		file,
		`# Full verification, ${TABLES} x ${ROWS} sysbench rows\n\n` +
			`${facts.join("\n")}\n- Both buffer pools warmed by one untimed CHECKSUM TABLE first; the methods then run one after another.\n\n` +
			`${markdownTable(header, body)}\n\n` +
			"\"vs serial scan\" is the serial scan's seconds divided by the method's (higher is faster). Every table is identical on both sides, so any differing chunk would be a false positive.\n\n" +
			"## Commands\n\n" +
			`- \`npx tsx bench/verify.ts --tables ${TABLES} --rows ${ROWS} --chunk-rows ${CHUNK_ROWS} --concurrency ${CONCURRENCY}\`\n` +
			`- CHECKSUM TABLE: \`CHECKSUM TABLE ${NAMES.map(table).join(", ")}\` on both servers at once\n` +
			`- Serial scan, per ${SERIAL_CHUNK}-id chunk, source then destination: \`SELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS('#', id, k, c, pad))) FROM sbtest.sbtestN FORCE INDEX (PRIMARY) WHERE id >= ? AND id < ?\`\n` +
			"- Ferry: `verifyTable(sourcePool, destinationPool, mapping, { chunkRows, concurrency })` per table (shared/verify/verify-table.ts): per chunk `SELECT COUNT(*), SUM(CRC32(r)), SUM(CRC32C(r)) FROM (SELECT CONCAT(<framed normalised columns>) AS r FROM t WHERE <key range>)` on both servers at once\n",
	);
	log(`results written to ${file}`);
}

try {
	await main();
} finally {
	await Promise.all([source.end(), destination.end()]);
}
