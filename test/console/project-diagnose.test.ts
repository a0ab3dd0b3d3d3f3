import { describe, expect, it } from "vitest";
import { positionText, stoppages, suggestFix, waivable } from "../../console/src/screens/project/diagnose.ts";
import type { ProjectStatus, StreamStatus } from "../../shared/control/status.ts";
import type { Project } from "../../shared/model/project.ts";

const project = (over: Partial<Project> = {}) =>
	({ id: "pr-1", name: "p", state: "running", steps: [], types: ["full"], options: {}, ...over }) as Project;
const status = (over: Partial<ProjectStatus> = {}): ProjectStatus => ({
	id: "pr-1",
	name: "p",
	state: "running",
	steps: [],
	...over,
});
const stream = (over: Partial<StreamStatus> = {}): StreamStatus => ({
	phase: "exact",
	state: "running",
	rowsPerSecond: 0,
	bytesPerSecond: 0,
	transactions: 0,
	rows: 0,
	inconsistencies: 0,
	...over,
});

describe("why is it stopped", () => {
	it("shows nothing for a healthy project", () => {
		expect(stoppages(project(), status({ incremental: stream() }))).toEqual([]);
	});

	it("names the table and attempts of a failed copy, with the fix for its error", () => {
		const message =
			"copying shop.orders failed 5 times, last with: Access denied for user 'ferry'@'%' to database 'shop'";
		const ticket = { id: "tk-1", step: "full", message, openedAt: "2026-12-06T10:00:00.000Z" };
		const [s, ...rest] = stoppages(project({ state: "failed", ticket }), status({ state: "failed", ticket }));
		expect(rest).toEqual([]);
		expect(s).toMatchObject({ object: "shop.orders", retries: "5 attempts", firstSeen: ticket.openedAt, ticket: true });
		expect(s?.fix).toMatch(/grant/);
	});

	it("puts a refused statement at its binlog position, and tells to skip it", () => {
		const message = "replication stopped: unsupported DDL: sequences are not migrated; statement: CREATE SEQUENCE s";
		const ticket = {
			id: "tk-2",
			step: "incremental",
			message,
			openedAt: "2026-12-06T10:00:00.000Z",
			stopsReplication: true,
		};
		const position = { gtid: "0-1-42", file: "mysql-bin.000003", pos: 1234 };
		const dead = stream({
			state: "stopped",
			lastError: "unsupported DDL: sequences are not migrated; statement: CREATE SEQUENCE s",
			position,
		});
		const list = stoppages(
			project({ state: "failed", ticket }),
			status({ state: "failed", ticket, incremental: dead }),
		);
		// the stream's error is the ticket's: one item, not two
		expect(list).toHaveLength(1);
		expect(list[0]?.object).toBe("CREATE SEQUENCE s at GTID 0-1-42 · mysql-bin.000003:1234");
		expect(list[0]?.fix).toMatch(/Skip passes over it/);
	});

	it("reports a restarting stream and erroring chunks without a ticket", () => {
		const list = stoppages(
			project(),
			status({
				incremental: stream({
					state: "restarting",
					lastError: "connect ECONNREFUSED 127.0.0.1:33402",
					heartbeatAgeSeconds: 12,
				}),
				full: {
					rowsCopied: 0,
					bytesCopied: 0,
					rowsPerSecond: 0,
					bytesPerSecond: 0,
					percent: 0,
					rowsEstimate: 10,
					tablesFrom: 0,
					tables: [
						{
							source: "shop.items",
							destination: "shop.items",
							rowsCopied: 0,
							bytesCopied: 0,
							rowsEstimate: 10,
							chunksDone: 0,
							chunksTotal: 2,
							planned: true,
							errors: ["chunk TABLE#0001#000000001 (attempt 2/5): Lock wait timeout exceeded"],
							waiting: [],
						},
					],
					tablesTotal: 1,
					tablesDone: 0,
				},
			}),
		);
		expect(list.map((s) => s.what)).toEqual(["forward replay (restarting)", "copy of shop.items"]);
		expect(list[0]).toMatchObject({ heartbeatAgeSeconds: 12, ticket: false });
		expect(list[0]?.fix).toMatch(/^Ferry restarts .* check that it runs/);
		expect(list[1]).toMatchObject({ retries: "attempt 2 of 5", error: "Lock wait timeout exceeded" });
	});

	it("offers the blocking precheck findings with an id for waiving, and their fixes", () => {
		const findings = [
			{
				level: "error" as const,
				object: "d.t",
				message: "destination table d.t already has 1 row",
				fix: "empty it",
				id: "f-1",
			},
			{ level: "warning" as const, object: "d.u", message: "m", fix: "f", id: "f-2" },
		];
		const ticket = { id: "tk-3", step: "precheck", message: "precheck found 1 blocking problem(s)", openedAt: "x" };
		const p = project({ state: "failed", ticket, findings });
		expect(waivable(p).map((f) => f.id)).toEqual(["f-1"]);
		expect(stoppages(p, status({ state: "failed", ticket }))[0]).toMatchObject({ object: "d.t", fix: "d.t: empty it" });
		expect(waivable(project({ findings }))).toEqual([]);
	});

	it("writes positions as the stream reports them, and falls back to a general fix", () => {
		expect(positionText({ gtid: "", file: "b.000001", pos: 4, tso: "4400" })).toBe("TSO 4400");
		expect(positionText({ gtid: "", file: "b.000001", pos: 4 })).toBe("b.000001:4");
		expect(positionText(undefined)).toBe(undefined);
		expect(suggestFix("something odd")).toMatch(/Retry/);
	});
});
