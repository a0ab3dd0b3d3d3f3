/**
 * Full verification, side by side, on the sysbench tables `sbtest.sbtest1..N` present and equal on
 * both servers (`--prepare` creates them: sysbench prepare on the source, mariadb-dump | mariadb):
 * - CHECKSUM TABLE on both servers at once (whole tables, no chunks, no row diff possible);
 * - a pt-table-checksum-style serial chunked CRC32 scan with pt-table-checksum's default check:
 *   10,000-id chunks, `COUNT(*), BIT_XOR(CRC32(CONCAT_WS('#', id, k, c, pad)))`, source then
 *   destination, serially;
 * - the same serial chunked scan with Ferry's check (`chunkChecksum`: framed rows, sums of CRC32
 *   and CRC32C), so that both sides of the comparison are equally reliable;
 * - Ferry's verifyTable per table (key-range chunks, both sides queried at once).
 *
 * Before timing, a reliability probe plants five kinds of difference in five small tables of
 * database `verify_probe` (dropped at the end) and counts which each method finds.
 *
 *   npx tsx bench/verify.ts [--tables 4] [--rows 1000000] [--chunk-rows 50000] [--concurrency 2] [--rounds 3] [--prepare]
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { RowDataPacket } from "mysql2";
import { planChunks } from "../shared/chunking/plan.ts";
import { createPool, type Pool } from "../shared/db/connect.ts";
import { localInstance } from "../shared/local/instances.ts";
import type { TableMapping } from "../shared/model/rules.ts";
import { chunkChecksum } from "../shared/verify/checksum.ts";
import { prepareTable } from "../shared/verify/normalise.ts";
import { verifyTable } from "../shared/verify/verify-table.ts";
import {
	connect,
	ensureTools,
	fmt,
	localServers,
	log,
	machineFact,
	markdownTable,
	median,
	positive,
	prepareSysbench,
	processCpuSeconds,
	quoteId,
	RESULTS_DIR,
	serverFact,
	settle,
	sh,
	spread,
	stamp,
	sysbench,
	textTable,
	workDir,
} from "./support.ts";

const { values: args } = parseArgs({
	options: {
		tables: { type: "string", default: "4" },
		rows: { type: "string", default: "1000000" },
		"chunk-rows": { type: "string", default: "50000" },
		concurrency: { type: "string", default: "2" },
		rounds: { type: "string", default: "3" },
		prepare: { type: "boolean", default: false },
	},
});
const TABLES = positive("tables", args.tables);
const ROWS = positive("rows", args.rows);
const CHUNK_ROWS = positive("chunk-rows", args["chunk-rows"]);
const CONCURRENCY = positive("concurrency", args.concurrency);
const ROUNDS = positive("rounds", args.rounds);
const PREPARE = args.prepare;
const SERIAL_CHUNK = 10_000;
const DB = "sbtest";
const PROBE_DB = "verify_probe";
const NAMES = Array.from({ length: TABLES }, (_, i) => `sbtest${i + 1}`);
const table = (db: string, t: string) => `${quoteId(db)}.${quoteId(t)}`;
const COLUMNS = ["id", "k", "c", "pad"];

const WORK = workDir();
const servers = localServers(WORK);
const source = createPool(localInstance("source"), CONCURRENCY + 2);
const destination = createPool(localInstance("destination"), CONCURRENCY + 2);

async function rows<T = RowDataPacket>(pool: Pool, sql: string, values: unknown[] = []): Promise<T[]> {
	const [r] = await pool.query<RowDataPacket[]>(sql, values);
	return r as T[];
}

/** What keeps the sysbench tables from being verified as they are: empty when both sides hold them. */
async function tableProblems(): Promise<string[]> {
	const problems: string[] = [];
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
		if (missing.length) problems.push(`the ${name} lacks ${missing.map((m) => `${DB}.${m}`).join(", ")}`);
	}
	if (problems.length) return problems;
	for (const n of NAMES) {
		const [s, d] = await Promise.all(
			[source, destination].map((p) => rows<{ n: string }>(p, `SELECT COUNT(*) AS n FROM ${table(DB, n)}`)),
		);
		const a = Number(s?.[0]?.n);
		const b = Number(d?.[0]?.n);
		if (a !== ROWS || b !== ROWS) {
			problems.push(`${DB}.${n} holds ${a} rows at the source and ${b} at the destination, not ${ROWS} on both`);
		}
	}
	return problems;
}

const SYSBENCH_PREPARE = sysbench(
	servers.source,
	DB,
	`oltp_read_write --tables=${TABLES} --table-size=${ROWS} --threads=${Math.min(TABLES, 2)} prepare`,
);
const COPY_CMD = `mariadb-dump --defaults-file=${servers.source.cnf} --single-transaction --quick --databases ${DB} | mariadb --defaults-file=${servers.destination.cnf}`;

/**
 * Whether the tables are ready; with --prepare, sysbench prepare on the source (unless already
 * there) and a copy to the destination make them so.
 */
async function checkTables(): Promise<boolean> {
	const problems = await tableProblems();
	if (!problems.length) return true;
	if (!PREPARE) {
		console.error(
			`verify: ${problems.join("; ")}.\nRun again with --prepare (sysbench prepare on the source, then mariadb-dump | mariadb to the destination).`,
		);
		return false;
	}
	ensureTools([["sysbench", "sysbench"]]);
	await prepareSysbench(servers.source, DB, NAMES, ROWS, SYSBENCH_PREPARE);
	log(`copying ${DB} to the destination (mariadb-dump | mariadb) ...`);
	await destination.query(`DROP DATABASE IF EXISTS ${quoteId(DB)}`);
	await sh(COPY_CMD);
	const dst = await connect(servers.destination);
	try {
		await settle(dst); // while the copy's dirty pages are still being written (30 s at most)
	} finally {
		await dst.end();
	}
	const left = await tableProblems();
	if (left.length) throw new Error(`still not ready after --prepare: ${left.join("; ")}`);
	return true;
}

// ---------------------------------------------------------------- server CPU

/** The mariadbd process of a pool's server, from its own @@pid_file (any local instance). */
async function serverPid(pool: Pool): Promise<number> {
	try {
		const [r] = await rows<{ f: string }>(pool, "SELECT @@pid_file AS f");
		return Number(readFileSync(String(r?.f), "utf8").trim());
	} catch {
		return -1;
	}
}

// ---------------------------------------------------------------- the methods

/** What a method found, per table: the number of differing tables or chunks. */
type Found = Map<string, number>;

interface Method {
	id: string;
	label: string;
	run(db: string, names: string[]): Promise<Found>;
}

const mappingOf = (db: string, n: string): TableMapping => {
	const t = { database: db, table: n };
	return { source: t, destination: t, columns: COLUMNS.map((c) => ({ source: c, destination: c })) };
};

/** CHECKSUM TABLE of all tables, both servers at once. */
async function checksumTable(db: string, names: string[]): Promise<Found> {
	const list = names.map((n) => table(db, n)).join(", ");
	const [a, b] = await Promise.all([
		rows<{ Table: string; Checksum: string }>(source, `CHECKSUM TABLE ${list}`),
		rows<{ Table: string; Checksum: string }>(destination, `CHECKSUM TABLE ${list}`),
	]);
	return new Map(names.map((n, i) => [n, String(a[i]?.Checksum) !== String(b[i]?.Checksum) ? 1 : 0]));
}

/** pt-table-checksum's default check: serial 10k-id chunks, source then destination. */
async function ptScan(db: string, names: string[]): Promise<Found> {
	const out: Found = new Map();
	for (const n of names) {
		let differing = 0;
		const [mm] = await rows<{ lo: string; hi: string }>(
			source,
			`SELECT MIN(id) AS lo, MAX(id) AS hi FROM ${table(db, n)}`,
		);
		const lo = Number(mm?.lo ?? 0);
		const hi = Number(mm?.hi ?? -1);
		for (let start = lo; start <= hi; start += SERIAL_CHUNK) {
			const sql = `SELECT COUNT(*) AS cnt, COALESCE(LOWER(CONV(BIT_XOR(CAST(CRC32(CONCAT_WS('#', id, k, c, pad)) AS UNSIGNED)), 10, 16)), 0) AS crc
				FROM ${table(db, n)} FORCE INDEX (PRIMARY) WHERE id >= ? AND id < ?`;
			const [s] = await rows<{ cnt: string; crc: string }>(source, sql, [start, start + SERIAL_CHUNK]);
			const [d] = await rows<{ cnt: string; crc: string }>(destination, sql, [start, start + SERIAL_CHUNK]);
			if (String(s?.cnt) !== String(d?.cnt) || String(s?.crc) !== String(d?.crc)) differing += 1;
		}
		out.set(n, differing);
	}
	return out;
}

/** The same serial scan with Ferry's check: `chunkChecksum` per 10k-id chunk, source then destination. */
async function serialFerryCheck(db: string, names: string[]): Promise<Found> {
	const out: Found = new Map();
	for (const n of names) {
		const mapping = mappingOf(db, n);
		const prepared = await prepareTable(source, destination, mapping);
		let differing = 0;
		for await (const chunk of planChunks(source, mapping, { chunkRows: SERIAL_CHUNK, strategy: "step" })) {
			const s = await chunkChecksum(source, "source", mapping, chunk, prepared);
			const d = await chunkChecksum(destination, "destination", mapping, chunk, prepared);
			if (s.rows !== d.rows || s.hash !== d.hash) differing += 1;
		}
		out.set(n, differing);
	}
	return out;
}

async function ferry(db: string, names: string[]): Promise<Found> {
	const out: Found = new Map();
	for (const n of names) {
		const v = await verifyTable(source, destination, mappingOf(db, n), {
			chunkRows: CHUNK_ROWS,
			concurrency: CONCURRENCY,
		});
		out.set(n, v.chunks.differing);
	}
	return out;
}

const METHODS: Method[] = [
	{ id: "checksum-table", label: "CHECKSUM TABLE (both servers at once)", run: checksumTable },
	{ id: "pt", label: "serial chunked scan, pt-table-checksum's check (BIT_XOR of CRC32)", run: ptScan },
	{ id: "serial", label: "serial chunked scan, Ferry's check (same reliability)", run: serialFerryCheck },
	{
		id: "ferry",
		label: `Ferry verifyTable (chunkRows ${CHUNK_ROWS}, concurrency ${CONCURRENCY})`,
		run: ferry,
	},
];

// ---------------------------------------------------------------- reliability probe

/**
 * Five small sysbench-shaped tables, equal on both sides but for one planted difference each:
 * - `cancel`: the same one-byte edit in two rows of equal length (CRC32 is linear over XOR:
 *   both rows' CRCs change by the same bits, which BIT_XOR cancels);
 * - `swap`: two rows exchange their `pad` (the same cancellation);
 * - `shift`: `c = 'a#b', pad = 'c'` against `c = 'a', pad = 'b#c'` (equal under CONCAT_WS('#'));
 * - `change`: one row's `pad` differs;
 * - `missing`: one row is missing at the destination.
 */
const padOf = (id: number) => `a${id}-${String.fromCharCode(97 + (id % 10)).repeat(30)}`;
const PROBES: { name: string; what: string; plant: string }[] = [
	{
		name: "cancel",
		what: "the same one-byte edit in two rows",
		plant: "UPDATE cancel SET pad = CONCAT('b', SUBSTRING(pad, 2)) WHERE id IN (11, 12)",
	},
	{
		name: "swap",
		what: "two rows exchange a column's values",
		plant: `UPDATE swap SET pad = IF(id = 21, '${padOf(22)}', '${padOf(21)}') WHERE id IN (21, 22)`,
	},
	{
		name: "shift",
		what: "text moved across a column boundary",
		plant: "UPDATE shift SET c = 'a', pad = 'b#c' WHERE id = 31",
	},
	{ name: "change", what: "one changed value", plant: "UPDATE `change` SET pad = REVERSE(pad) WHERE id = 41" },
	{ name: "missing", what: "one missing row", plant: "DELETE FROM missing WHERE id = 51" },
];

async function prepareProbe(): Promise<void> {
	for (const pool of [source, destination]) {
		await pool.query(`DROP DATABASE IF EXISTS ${quoteId(PROBE_DB)}`);
		await pool.query(`CREATE DATABASE ${quoteId(PROBE_DB)}`);
		for (const [i, p] of PROBES.entries()) {
			const t = table(PROBE_DB, p.name);
			await pool.query(
				`CREATE TABLE ${t} (id INT NOT NULL, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_1 (k)) DEFAULT CHARSET=utf8mb4`,
			);
			// ids 10(i+1) .. 10(i+1)+9: two digits each, the same k, c and pad of equal lengths
			const values = Array.from({ length: 10 }, (_, j) => {
				const id = 10 * (i + 1) + j;
				return id === 31 ? `(${id}, 500, 'a#b', 'c')` : `(${id}, 500, '${id}-${"x".repeat(40)}', '${padOf(id)}')`;
			});
			await pool.query(`INSERT INTO ${t} VALUES ${values.join(", ")}`);
		}
	}
	const conn = await destination.getConnection();
	try {
		await conn.query(`USE ${quoteId(PROBE_DB)}`);
		for (const p of PROBES) await conn.query(p.plant);
	} finally {
		conn.release();
	}
}

// ---------------------------------------------------------------- main

interface Run {
	seconds: number;
	cpuSource: number;
	cpuDestination: number;
	differing: number;
}

/** Ferry's row expression for the sysbench tables, for the results file. */
let ROW_SQL = "";

async function main(): Promise<void> {
	if (!(await checkTables())) {
		process.exitCode = 1;
		return;
	}
	const facts = [machineFact(), await serverFact(servers.source), await serverFact(servers.destination)];
	const pids = { source: await serverPid(source), destination: await serverPid(destination) };
	ROW_SQL = (await prepareTable(source, destination, mappingOf(DB, NAMES[0] ?? "sbtest1"))).source.row;

	log(`reliability probe: ${PROBES.length} planted differences in ${PROBE_DB}`);
	const probe = new Map<string, string[]>();
	try {
		await prepareProbe();
		for (const m of METHODS) {
			const found = await m.run(
				PROBE_DB,
				PROBES.map((p) => p.name),
			);
			probe.set(
				m.id,
				PROBES.filter((p) => (found.get(p.name) ?? 0) > 0).map((p) => p.name),
			);
			log(`  ${m.id}: found ${probe.get(m.id)?.length} of ${PROBES.length} (${probe.get(m.id)?.join(", ") || "none"})`);
		}
	} finally {
		for (const pool of [source, destination]) await pool.query(`DROP DATABASE IF EXISTS ${quoteId(PROBE_DB)}`);
	}

	log(`warming both buffer pools (CHECKSUM TABLE, not timed) for ${TABLES} x ${ROWS} rows`);
	await checksumTable(DB, NAMES);
	const runs = new Map<string, Run[]>(METHODS.map((m) => [m.id, []]));
	const loads: string[] = [];
	for (let round = 1; round <= ROUNDS; round++) {
		loads.push(
			loadavg()
				.map((n) => n.toFixed(2))
				.join(" "),
		);
		log(`round ${round} of ${ROUNDS} (load average ${loads.at(-1)})`);
		for (const m of METHODS) {
			const cpu0 = [processCpuSeconds(pids.source), processCpuSeconds(pids.destination)];
			const t0 = performance.now();
			const found = await m.run(DB, NAMES);
			const seconds = (performance.now() - t0) / 1000;
			const run: Run = {
				seconds,
				cpuSource: processCpuSeconds(pids.source) - (cpu0[0] as number),
				cpuDestination: processCpuSeconds(pids.destination) - (cpu0[1] as number),
				differing: [...found.values()].reduce((a, b) => a + b, 0),
			};
			runs.get(m.id)?.push(run);
			log(
				`  ${m.id}: ${fmt(seconds, 2)} s, server CPU ${fmt(run.cpuSource, 1)} + ${fmt(run.cpuDestination, 1)} s, ${run.differing} differing`,
			);
		}
	}

	const total = TABLES * ROWS;
	const med = (id: string) => median((runs.get(id) ?? []).map((r) => r.seconds));
	const serial = med("serial");
	const pt = med("pt");
	const header = [
		"method",
		"median s",
		"runs s",
		"spread s",
		"rows/s",
		"÷ CHECKSUM TABLE",
		"÷ serial, same check",
		"÷ serial, pt check",
		"server CPU s src+dst",
		"planted found",
		"false positives",
		"row-level diff",
	];
	const body = METHODS.map((m) => {
		const rs = runs.get(m.id) ?? [];
		const s = med(m.id);
		return [
			m.label,
			fmt(s, 2),
			rs.map((r) => fmt(r.seconds, 2)).join(" "),
			spread(
				rs.map((r) => r.seconds),
				2,
			),
			fmt(total / s, 0),
			`${fmt(s / med("checksum-table"), 2)}x`,
			`${fmt(serial / s, 2)}x`,
			`${fmt(pt / s, 2)}x`,
			`${fmt(median(rs.map((r) => r.cpuSource)), 1)} + ${fmt(median(rs.map((r) => r.cpuDestination)), 1)}`,
			`${probe.get(m.id)?.length ?? 0} / ${PROBES.length}`,
			String(rs.reduce((a, r) => a + r.differing, 0)),
			m.id === "ferry" ? "yes" : "no",
		];
	});
	console.log(`\n${textTable(header, body)}\n`);
	const env = ["FERRY_SOURCE_PORT", "FERRY_DESTINATION_PORT"]
		.filter((v) => process.env[v])
		.map((v) => `${v}=${process.env[v]} `)
		.join("");
	const probeLines = PROBES.map(
		(p) =>
			`- \`${p.name}\` (${p.what}): found by ${
				METHODS.filter((m) => probe.get(m.id)?.includes(p.name))
					.map((m) => m.id)
					.join(", ") || "none"
			}`,
	).join("\n");
	const file = join(RESULTS_DIR, `verify-${stamp()}.md`);
	writeFileSync(
		file,
		`# Full verification, ${TABLES} x ${ROWS} sysbench rows\n\n` +
			`${facts.join("\n")}\n` +
			`- Load average at the start of each round: ${loads.join("; ")}.\n` +
			`- Both buffer pools warmed by one untimed CHECKSUM TABLE first; then ${ROUNDS} round(s), each running the methods one after another in the order of the table.\n\n` +
			`${markdownTable(header, body)}\n\n` +
			'"median s" is the median over the rounds, "runs s" every round\'s seconds in order, "spread s" their min-max and half the range over the median. "÷ CHECKSUM TABLE" is the method\'s median seconds over CHECKSUM TABLE\'s (the target for Ferry: at most 1.3x). "÷ serial" is the serial scan\'s median seconds divided by the method\'s (higher is faster): "same check" is the serial scan running Ferry\'s own chunk checksum (equally reliable), "pt check" the one running pt-table-checksum\'s default (weaker, see below). "server CPU" is the median user+system CPU seconds of the two mariadbd processes over a run (other work on the same servers counts too). "false positives": differing tables or chunks over all rounds (every sysbench table is identical on both sides, so any is a false positive).\n\n' +
			`## Reliability probe\n\nFive small tables in \`${PROBE_DB}\`, equal on both servers but for one planted difference each; "planted found" counts the tables in which a method reported a difference.\n\n${probeLines}\n\n` +
			"## Commands\n\n" +
			`- \`${env}npx tsx bench/verify.ts --tables ${TABLES} --rows ${ROWS} --chunk-rows ${CHUNK_ROWS} --concurrency ${CONCURRENCY} --rounds ${ROUNDS}\`\n` +
			`- CHECKSUM TABLE: \`CHECKSUM TABLE ${NAMES.map((n) => table(DB, n)).join(", ")}\` on both servers at once\n` +
			`- Serial scan, pt-table-checksum's check, per ${SERIAL_CHUNK}-id chunk, source then destination: \`SELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS('#', id, k, c, pad))) FROM sbtest.sbtestN FORCE INDEX (PRIMARY) WHERE id >= ? AND id < ?\`\n` +
			`- Serial scan, Ferry's check, per ${SERIAL_CHUNK}-id chunk (\`planChunks\` stepping), source then destination: \`chunkChecksum\` (shared/verify/checksum.ts), here \`SELECT COUNT(*), SUM((CRC32(r) << 32) | CRC32C(r)) FROM sbtest.sbtestN WHERE <key range>\` with \`r = ${ROW_SQL}\`\n` +
			"- Ferry: `verifyTable(sourcePool, destinationPool, mapping, { chunkRows, concurrency })` per table (shared/verify/verify-table.ts): the same chunk checksum on both servers at once, `concurrency` chunks at a time\n" +
			`- Tables missing, with \`--prepare\`: \`${SYSBENCH_PREPARE}\` (password in MYSQL_PWD), then \`${COPY_CMD.replaceAll(WORK, "$TMP")}\` (option files with the login in a temporary directory)\n`,
	);
	log(`results written to ${file}`);
}

try {
	await main();
} finally {
	await Promise.all([source.end(), destination.end()]);
	rmSync(WORK, { recursive: true, force: true });
}
