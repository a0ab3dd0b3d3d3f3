import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloudWatchMetricsHistory, PUBLISHED } from "../../shared/metrics/cloudwatch-history.ts";

/*
 * CloudWatch is mocked: a local server speaking GetMetricData's protocol as the SDK sends it
 * (AWS JSON 1.0, target GraniteServiceVersion20100801.GetMetricData, epoch-second timestamps),
 * shaped after the API reference's request and response. It answers a published metric's points
 * for the dimensions asked, in pages of one query, and metric math `x / PERIOD(x)` as the rate.
 */

interface Query {
	Id: string;
	Expression?: string;
	ReturnData?: boolean;
	MetricStat?: {
		Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] };
		Period: number;
		Stat: string;
	};
}

/** An hour ago, on a whole minute (recent data: one-minute periods). */
const T0 = Math.floor(Date.now() / 60_000) * 60 - 3600;
/** What "CloudWatch" holds: per metric name and stream (absent: copy, without a stream dimension), values at T0, T0+60, ... */
const STORED: Record<string, number[]> = {
	[`${PUBLISHED.latency}/forward`]: [3, 7, 2],
	[`${PUBLISHED.replicatedRows}/forward`]: [120, 80, 0],
	[`${PUBLISHED.latency}/reverse`]: [1],
	// a synchronization project's stream publishes its latency under its own name
	[`${PUBLISHED.syncLatency}/sink`]: [9],
	[`${PUBLISHED.rowsCopied}/`]: [6000, 1200],
	[`${PUBLISHED.copyProgress}/`]: [80, 100],
};

const seen: { target?: string; queries: Query[] }[] = [];

async function body(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const c of req) chunks.push(c as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

function answer(q: Query, all: Query[]): { Timestamps: number[]; Values: number[] } {
	const rate = q.Expression && /^(\w+) \/ PERIOD\((\w+)\)$/.exec(q.Expression);
	if (rate) {
		const inner = all.find((x) => x.Id === rate[1]) as Query;
		const sums = answer(inner, all);
		return { Timestamps: sums.Timestamps, Values: sums.Values.map((v) => v / (inner.MetricStat?.Period ?? 1)) };
	}
	const stat = q.MetricStat as NonNullable<Query["MetricStat"]>;
	const dims = Object.fromEntries(stat.Metric.Dimensions.map((d) => [d.Name, d.Value]));
	if (dims.project !== "pr-cw" || dims.service !== "ferry" || stat.Metric.Namespace !== "Ferry") {
		return { Timestamps: [], Values: [] };
	}
	const values = STORED[`${stat.Metric.MetricName}/${dims.stream ?? ""}`] ?? [];
	return { Timestamps: values.map((_, i) => T0 + i * 60), Values: values };
}

let server: Server;
let history: CloudWatchMetricsHistory;

beforeAll(async () => {
	server = createServer(async (req, res) => {
		const request = JSON.parse(await body(req)) as { MetricDataQueries: Query[]; NextToken?: string };
		seen.push({ target: req.headers["x-amz-target"] as string, queries: request.MetricDataQueries });
		// one returned query per page, to make the reader follow NextToken
		const returned = request.MetricDataQueries.filter((q) => q.ReturnData !== false);
		const page = Number(request.NextToken ?? 0);
		const q = returned[page] as Query;
		res.writeHead(200, { "content-type": "application/x-amz-json-1.0" });
		res.end(
			JSON.stringify({
				MetricDataResults: [{ Id: q.Id, Label: q.Id, StatusCode: "Complete", ...answer(q, request.MetricDataQueries) }],
				...(page + 1 < returned.length ? { NextToken: String(page + 1) } : {}),
			}),
		);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const client = new CloudWatchClient({
		region: "us-east-1",
		endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		credentials: { accessKeyId: "test", secretAccessKey: "test" },
	});
	history = new CloudWatchMetricsHistory(client, "Ferry", "ferry");
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("the metrics history in AWS (CloudWatch mocked by a local GetMetricData server)", () => {
	it("reads each stream's latency and rates, and the copy's rate, by project and stream dimensions", async () => {
		const range = { from: T0 * 1000, to: (T0 + 600) * 1000, stepSeconds: 60 };
		const series = await history.read("pr-cw", range);
		const get = (group: string, metric: string) =>
			series.find((s) => s.group === group && s.metric === metric)?.points.map((p) => p.value);
		expect(get("forward", "latencySeconds")).toEqual([3, 7, 2]);
		expect(get("forward", "rowsPerSecond")).toEqual([120, 80, 0]);
		expect(get("reverse", "latencySeconds")).toEqual([1]);
		// the sum of rows copied in each minute, per second
		expect(get("copy", "rowsPerSecond")).toEqual([100, 20]);
		expect(get("copy", "percent")).toEqual([80, 100]);
		expect(series.find((s) => s.group === "forward")?.points[1]?.at).toBe(new Date((T0 + 60) * 1000).toISOString());
		expect(get("sink", "latencySeconds")).toEqual([9]);
		// nothing stored for the sink's rates: no series
		expect(series.filter((s) => s.group === "sink").map((s) => s.metric)).toEqual(["latencySeconds"]);
		expect(seen[0]?.target).toBe("GraniteServiceVersion20100801.GetMetricData");
		const latency = seen[0]?.queries.find((q) => q.MetricStat?.Metric.MetricName === PUBLISHED.latency);
		expect(latency?.MetricStat?.Stat).toBe("Maximum");
		expect(latency?.MetricStat?.Period).toBe(60);
		// every page was read
		const returned = seen[0]?.queries.filter((q) => q.ReturnData !== false).length ?? 0;
		expect(seen.length).toBe(returned);
	});

	it("asks for whole minutes, coarser for older data as CloudWatch keeps it", () => {
		const now = Date.now();
		expect(history.stepFor({ from: now - 3600_000, to: now, stepSeconds: 10 })).toBe(60);
		expect(history.stepFor({ from: now - 3600_000, to: now, stepSeconds: 90 })).toBe(120);
		expect(history.stepFor({ from: now - 30 * 86_400_000, to: now, stepSeconds: 60 })).toBe(300);
	});
});
