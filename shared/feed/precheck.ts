import type { RowDataPacket } from "mysql2";
import { isTidb } from "../binlog/tso.ts";
import type { Connection } from "../db/connect.ts";
import type { KafkaCredentials } from "../model/datasource.ts";
import type { ChangeFeed } from "../model/feed.ts";
import type { Finding } from "../model/project.ts";
import type { TableMapping } from "../model/rules.ts";
import { type FeedEvent, FeedFormatError } from "./event.ts";
import { feedFormat } from "./formats.ts";
import { FeedPartitions } from "./partitions.ts";

/*
 * What a migration fed from Kafka checks before it starts, in place of the binlog's settings:
 * the topics exist, their newest messages are in the format the project names and carry what
 * Ferry needs (TiCDC's commit timestamps and watermarks), and a TiDB source keeps its old
 * snapshots long enough for the copy to read at one.
 */

/** Records read from the end of each partition to check the format. */
const SAMPLE = 20n;

/** The copy rate the GC check assumes, bytes per second: a cautious figure for one chunk stream per table. */
const ASSUMED_COPY_BYTES_PER_SECOND = 20 * 1024 * 1024;

export async function feedFindings(
	feed: ChangeFeed,
	creds: KafkaCredentials,
	source: Connection,
	mappings: readonly TableMapping[],
	withFull: boolean,
): Promise<Finding[]> {
	const findings: Finding[] = [...(await formatFindings(feed, creds))];
	const tidb = await isTidb(source);
	if (feed.format.startsWith("ticdc-") && !tidb) {
		findings.push({
			level: "warning",
			object: "source",
			message:
				"is not TiDB, but the change feed is TiCDC's: its commit timestamps are compared with this server's clock",
			fix: "use TiDB as the source of a TiCDC feed",
		});
	}
	if (tidb && withFull) findings.push(...(await gcFindings(source, mappings)));
	return findings;
}

async function formatFindings(feed: ChangeFeed, creds: KafkaCredentials): Promise<Finding[]> {
	const object = `change feed ${feed.topics.join(", ")}`;
	let partitions: FeedPartitions;
	try {
		partitions = await FeedPartitions.open(creds, feed.topics);
	} catch (err) {
		return [
			{
				level: "error",
				object,
				message: (err as Error).message,
				fix: "check the Kafka data source and the topic names, and that the changefeed writing them runs",
			},
		];
	}
	try {
		const format = feedFormat(feed);
		const events: FeedEvent[] = [];
		const ends = await partitions.ends();
		for (const p of partitions.partitions) {
			const end = ends.get(p.key);
			if (!end || end.stable <= end.earliest) continue;
			const from = end.stable - SAMPLE > end.earliest ? end.stable - SAMPLE : end.earliest;
			await partitions.read(p, from, end.stable, (r) => events.push(...format.decode(r)));
		}
		if (events.length === 0) {
			return [
				{
					level: "warning",
					object,
					message: "holds no change yet: its format cannot be checked before the migration reads it",
					fix: `make sure the changefeed writes ${feed.format}`,
				},
			];
		}
		const changes = events.some((e) => e.kind !== "watermark");
		if (format.completeness === "watermarks" && changes && !events.some((e) => e.kind === "watermark")) {
			return [
				{
					level: "error",
					object,
					message:
						"carries changes but no watermark (resolved) events: Ferry cannot tell when a transaction is complete",
					fix:
						feed.format === "ticdc-canal-json"
							? "create the changefeed with enable-tidb-extension=true in its sink URI"
							: "use TiCDC's open-protocol, which sends resolved events to every partition",
				},
			];
		}
		return [];
	} catch (err) {
		if (!(err instanceof FeedFormatError)) throw err;
		return [
			{
				level: "error",
				object,
				message: err.message,
				fix: `write the topics in ${feed.format} (for TiCDC: protocol and enable-tidb-extension in the sink URI)`,
			},
		];
	} finally {
		await partitions.close();
	}
}

/**
 * TiDB discards row versions older than tidb_gc_life_time; the copy reads every table as of the
 * start TSO, so the life time must outlast the copy.
 */
async function gcFindings(source: Connection, mappings: readonly TableMapping[]): Promise<Finding[]> {
	const [[row]] = await source.query<RowDataPacket[]>("SELECT @@tidb_gc_life_time AS life");
	const lifeSeconds = goDurationSeconds(String(row?.life ?? ""));
	let bytes = 0;
	for (const m of mappings) {
		const [[t]] = await source.query<RowDataPacket[]>(
			"SELECT COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
			[m.source.database, m.source.table],
		);
		bytes += Number(t?.n ?? 0);
	}
	const needSeconds = Math.ceil(bytes / ASSUMED_COPY_BYTES_PER_SECOND);
	if (lifeSeconds === null || lifeSeconds >= needSeconds) return [];
	const suggest = `${Math.ceil((needSeconds * 2) / 60)}m`;
	return [
		{
			level: "error",
			object: "source tidb_gc_life_time",
			message: `is ${String(row?.life)}, but copying ${Math.round(bytes / 1024 / 1024)} MiB at one snapshot may take ${needSeconds} s: TiDB would discard the snapshot before the copy ends`,
			fix: `SET GLOBAL tidb_gc_life_time = '${suggest}' for the migration (and put it back afterwards)`,
		},
	];
}

/** A Go duration ('10m0s', '1h30m', '720h') in seconds; null if it is not one. */
export function goDurationSeconds(text: string): number | null {
	const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
	const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
	if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text.trim()) return null;
	return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] as string] ?? 0), 0);
}
