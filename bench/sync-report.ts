/**
 * bench/sync.ts's figures: what a backlog and a drain round are, the results table and the
 * summary lines.
 */
import type { SourcePosition } from "../shared/binlog/position.ts";
import { fmt } from "./support.ts";
import type { Counted } from "./sync-kafka.ts";
import { type Latency, spread, windows } from "./sync-latency.ts";

export interface Backlog {
	from: SourcePosition;
	to: SourcePosition;
	/** sysbench's figures. */
	transactions: number;
	tps: number;
	ignoredErrors: number;
	/** Counted in the binlog between from and to (tables of DB). */
	inserts: number;
	updates: number;
	deletes: number;
	rowTransactions: number;
	/** Row events: inserts + updates + deletes. */
	rows: number;
}

export interface Round {
	contender: "Ferry" | "Debezium";
	round: number;
	/** From the process start (Ferry) or the worker's start (Debezium) until all of the backlog is in Kafka. */
	seconds?: number;
	/** From the start until the first message was sent (Ferry) or seen in the topics (Debezium). */
	firstSeconds?: number;
	/** CPU seconds: the contender's process, the broker, the source's mariadbd. */
	cpu?: { own: number; broker: number; source: number };
	counted?: Counted;
	detail: string;
	problems: string[];
}

const median = (v: number[]) => {
	const s = [...v].sort((a, b) => a - b);
	const m = Math.floor(s.length / 2);
	return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
export const HEADER = [
	"contender",
	"round",
	"result",
	"s from start",
	"s after 1st msg",
	"row events/s",
	"messages seen",
	"CPU s own / broker / source",
	"detail",
];

export function rows(rounds: Round[], b: Backlog): string[][] {
	return rounds.map((r) => {
		const ok = !r.problems.length && r.seconds !== undefined;
		return [
			r.contender,
			String(r.round),
			ok ? "ok" : "FAILED",
			fmt(r.seconds),
			r.seconds !== undefined && r.firstSeconds !== undefined ? fmt(r.seconds - r.firstSeconds) : "-",
			ok && r.seconds ? `${(b.rows / r.seconds / 1000).toFixed(1)}k` : "-",
			r.counted ? `${r.counted.rows} + ${r.counted.tombstones} tombstones` : "-",
			r.cpu ? `${fmt(r.cpu.own)} / ${fmt(r.cpu.broker)} / ${fmt(r.cpu.source)}` : "-",
			[r.detail, ...r.problems].filter(Boolean).join("; "),
		];
	});
}

export function summary(rounds: Round[], b: Backlog): string[] {
	const rate = (c: Round["contender"]) => {
		const ok = rounds.filter((r) => r.contender === c && !r.problems.length && r.seconds);
		return ok.length ? median(ok.map((r) => b.rows / (r.seconds as number))) : undefined;
	};
	const [f, d] = [rate("Ferry"), rate("Debezium")];
	const line = (c: string, v: number | undefined) =>
		`- ${c}: median ${v ? `${(v / 1000).toFixed(1)}k row events/s (${fmt(b.rows / v)} s)` : "n/a"}`;
	return [
		`Medians over the rounds that succeeded (row events / seconds from start):`,
		"",
		line("Ferry", f),
		line("Debezium", d),
		`- Ferry / Debezium: ${f && d ? `${(f / d).toFixed(2)} x (target >= 3)` : "n/a"}`,
	];
}

export function latencyLines(
	name: string,
	l: Latency | undefined,
	rate: number,
	seconds: number,
	warmup: number,
): string[] {
	if (!l) return [];
	return [
		`${name}, sysbench --rate=${rate} (achieved ${fmt(l.tps)} tps) for ${warmup} + ${seconds} s, a probe every 0.1 s, those of the last ${seconds} s counted, load average ${fmt(l.loadAverage, 2)} at the start${l.problems.length ? ` -- ${l.problems.join("; ")}` : ""}:`,
		`- exact (receipt - commit returned, local clock): ${spread(l.exact)}`,
		`- exact, the worst of each 5 s in order: ${windows(l.exact)}`,
		`- from source.ts_ms (whole seconds, reads 0-1 s high): ${spread(l.tsMs)}`,
	];
}
