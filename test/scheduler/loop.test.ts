import { afterEach, describe, expect, it } from "vitest";
import { actOnProject, resolveTicket } from "../../shared/control/projects.ts";
import { SYSTEM } from "../../shared/model/actor.ts";
import { advanceProject } from "../../shared/scheduler/loop.ts";
import { STEPS, stepsFor } from "../../shared/scheduler/steps/index.ts";
import { streamKey } from "../../shared/state/keys.ts";
import { getProject, updateProject } from "../../shared/state/projects.ts";
import { replicationStatus } from "../../shared/state/streams.ts";
import { fakeContext } from "../support/fakes.ts";
import { scriptedStep, seedProject } from "./support.ts";

/**
 * The scheduler's loop against in-memory fakes of the state store, queues and task launcher
 * (no services): steps of the test's own where the test is about the loop, the product's steps
 * where it is about them.
 */

afterEach(() => {
	delete process.env.FERRY_SWITCHOVER_REPLAY_WAIT_MS;
});

describe("the step registry", () => {
	it("orders each project's steps from the step objects, by its migration types", () => {
		const names = (t: Parameters<typeof stepsFor>[0]) => stepsFor(t).map((s) => s.name);
		expect(names(["full"])).toEqual(["precheck", "full"]);
		expect(names(["schema", "full", "incremental", "verification"])).toEqual([
			"precheck",
			"schema",
			"position",
			"full",
			"indexes",
			"finalize",
			"incremental",
			"verify",
		]);
		expect(names(["schema", "full", "incremental", "switchover", "reverse"]).slice(-7)).toEqual([
			"switch-check",
			"switch-writes",
			"switch-drain",
			"switch-stop-forward",
			"switch-destination",
			"switch-source",
			"reverse",
		]);
	});

	it("derives the replication steps and the switchover alarm from the step objects", () => {
		expect(STEPS.filter((s) => s.replication).map((s) => [s.name, s.replication])).toEqual([
			["incremental", "forward"],
			["reverse", "reverse"],
		]);
		expect(STEPS.filter((s) => s.alarm === "SwitchoverBlocked").map((s) => s.name)).toEqual([
			"switch-check",
			"switch-writes",
			"switch-drain",
			"switch-stop-forward",
			"switch-destination",
			"switch-source",
		]);
	});
});

describe("advanceProject", () => {
	it("runs the steps in order, stops at a waiting one, and completes the project after the last", async () => {
		const ctx = fakeContext();
		const a = scriptedStep("a", ["done"]);
		const b = scriptedStep("b", ["waiting", "done"]);
		const steps = [a, b];
		const p = await seedProject(ctx, ["full"], { steps });
		let now = await advanceProject(ctx, p.id, steps);
		expect(now.state).toBe("running");
		expect(now.steps.map((s) => s.state)).toEqual(["done", "running"]);
		now = await advanceProject(ctx, p.id, steps);
		expect(now.state).toBe("completed");
		expect([a.calls, b.calls]).toEqual([1, 2]);
	});

	it("runs `begin` again after a scheduler died in it, and only until it completed once", async () => {
		const ctx = fakeContext();
		let begins = 0;
		let release: () => void = () => {};
		const step = scriptedStep("slow-begin", ["waiting", "done"], {
			begin: async () => {
				begins += 1;
				// the first scheduler dies here: its promise never settles
				if (begins === 1) await new Promise<void>((r) => (release = r));
			},
		});
		const p = await seedProject(ctx, ["full"], { steps: [step] });
		void advanceProject(ctx, p.id, [step]);
		await new Promise((r) => setTimeout(r, 20));
		expect((await getProject(ctx, p.id)).steps[0]).toMatchObject({ state: "running", begun: false });
		// a second scheduler takes over
		await advanceProject(ctx, p.id, [step]);
		expect(begins).toBe(2);
		expect((await getProject(ctx, p.id)).steps[0]).toMatchObject({ begun: true });
		await advanceProject(ctx, p.id, [step]);
		expect(begins).toBe(2);
		expect((await getProject(ctx, p.id)).state).toBe("completed");
		release();
	});

	it("turns a failed step into a ticket that retry runs again and skip passes over", async () => {
		const ctx = fakeContext();
		const flaky = scriptedStep("flaky", [new Error("the destination refused: disk full"), "done"]);
		const after = scriptedStep("after", ["done"]);
		const steps = [flaky, after];
		const p = await seedProject(ctx, ["full"], { steps });
		const failed = await advanceProject(ctx, p.id, steps);
		expect(failed.state).toBe("failed");
		expect(failed.ticket).toMatchObject({ step: "flaky", message: "the destination refused: disk full" });
		expect(failed.ticket?.stopsReplication).toBeUndefined();
		expect(failed.steps[0]).toMatchObject({ state: "failed", error: "the destination refused: disk full" });
		// nothing moves while the ticket is open
		expect((await advanceProject(ctx, p.id, steps)).state).toBe("failed");
		expect(flaky.calls).toBe(1);

		await resolveTicket(ctx, p.id, "retry", SYSTEM, steps);
		const retried = await advanceProject(ctx, p.id, steps);
		expect(retried.state).toBe("completed");
		expect(retried.steps.map((s) => s.state)).toEqual(["done", "done"]);

		const q = await seedProject(ctx, ["full"], { steps });
		const failing = [scriptedStep("flaky", [new Error("no")]), after];
		await advanceProject(ctx, q.id, failing);
		await resolveTicket(ctx, q.id, "skip", SYSTEM, failing);
		const skipped = await advanceProject(ctx, q.id, steps);
		expect(skipped.steps.map((s) => s.state)).toEqual(["skipped", "done"]);
		expect(skipped.state).toBe("completed");
	});

	it("refuses to skip a step that says it cannot be skipped, with its reason", async () => {
		const ctx = fakeContext();
		const p = await seedProject(ctx, ["full"]);
		await updateProject(ctx, p.id, (x) => ({ ...x, sourceId: "ds-missing" }));
		// precheck fails (no such data source), and precheck cannot be skipped
		const failed = await advanceProject(ctx, p.id);
		expect(failed.ticket?.step).toBe("precheck");
		await expect(resolveTicket(ctx, p.id, "skip", SYSTEM)).rejects.toMatchObject({
			code: "CANNOT_SKIP",
			message: expect.stringMatching(/^step precheck of 'p\d+' cannot be skipped: it records the tables to migrate/),
		});
		expect((await getProject(ctx, p.id)).state).toBe("failed");
	});

	it("runs no step of a paused project and stops its replication task", async () => {
		const ctx = fakeContext();
		const step = scriptedStep("waits", ["waiting"]);
		const p = await seedProject(ctx, ["full", "incremental"], { steps: [step] });
		await advanceProject(ctx, p.id, [step]);
		expect(step.calls).toBe(1);
		await actOnProject(ctx, p.id, "pause");
		ctx.tasks.live.add(p.id);
		const paused = await advanceProject(ctx, p.id, [step]);
		expect(paused.state).toBe("paused");
		expect(step.calls).toBe(1);
		expect(ctx.tasks.stopped).toEqual([p.id]);
		await actOnProject(ctx, p.id, "resume");
		await advanceProject(ctx, p.id, [step]);
		expect(step.calls).toBe(2);
	});
});

describe("replication supervision", () => {
	async function replicating(ctx: ReturnType<typeof fakeContext>) {
		const p = await seedProject(ctx, ["full", "incremental", "verification"]);
		// the copy is over and replay runs: precheck .. incremental begun
		await updateProject(ctx, p.id, (x) => ({
			...x,
			steps: x.steps.map((s) =>
				s.name === "verify"
					? s
					: s.name === "incremental"
						? { ...s, state: "running", begun: true }
						: { ...s, state: "done" },
			),
		}));
		return p;
	}

	it("starts the forward task once incremental runs, and again when its heartbeat stops", async () => {
		const ctx = fakeContext();
		const p = await replicating(ctx);
		await advanceProject(ctx, p.id);
		expect(ctx.tasks.started).toEqual([p.id]);
		// alive: not started twice
		await ctx.store.create(streamKey(p.id), {
			owner: "t1",
			leaseUntil: Date.now() + 20_000,
			heartbeatAt: Date.now(),
			phase: "safe",
		});
		await advanceProject(ctx, p.id);
		expect(ctx.tasks.started).toEqual([p.id]);
		// its heartbeat is 60 s old: another one is started
		await ctx.store.modify(streamKey(p.id), (s) => ({ ...s, heartbeatAt: Date.now() - 60_000 }));
		await advanceProject(ctx, p.id);
		expect(ctx.tasks.started).toEqual([p.id, p.id]);
	});

	it("turns a task's fatal stop into a ticket that stops replication, and a retry clears it and resumes", async () => {
		const ctx = fakeContext();
		const p = await replicating(ctx);
		await ctx.store.create(streamKey(p.id), {
			owner: "t1",
			leaseUntil: 0,
			heartbeatAt: Date.now(),
			phase: "exact",
			fatal: { message: "unsupported DDL: CREATE SPATIAL INDEX", gtid: "0-1-42" },
		});
		const failed = await advanceProject(ctx, p.id);
		expect(failed.ticket).toMatchObject({ step: "incremental", stopsReplication: true });
		expect(failed.ticket?.message).toContain("unsupported DDL");
		ctx.tasks.live.add(p.id);
		await advanceProject(ctx, p.id);
		expect(ctx.tasks.stopped).toContain(p.id);

		const resumed = await resolveTicket(ctx, p.id, "skip", SYSTEM);
		expect(resumed.incremental?.skipGtid).toBe("0-1-42");
		expect(resumed.steps.find((s) => s.name === "incremental")?.state).toBe("running");
		expect((await replicationStatus(ctx, p.id))?.fatal).toBeUndefined();
		ctx.tasks.started.length = 0;
		await advanceProject(ctx, p.id);
		expect(ctx.tasks.started).toEqual([p.id]);
	});

	it("keeps replication running while a later step's ticket waits for a person", async () => {
		const ctx = fakeContext();
		const p = await replicating(ctx);
		await updateProject(ctx, p.id, (x) => ({
			...x,
			state: "failed",
			ticket: { id: "tk-1", step: "verify", message: "differences", openedAt: new Date().toISOString() },
		}));
		await advanceProject(ctx, p.id);
		expect(ctx.tasks.started).toEqual([p.id]);
		expect(ctx.tasks.stopped).toEqual([]);
	});
});

describe("the switchover steps", () => {
	it("waits for the user's request, says why, and opens a ticket once forward replay stays dead past the wait", async () => {
		const ctx = fakeContext();
		const p = await seedProject(ctx, ["full", "incremental", "switchover"]);
		await updateProject(ctx, p.id, (x) => ({
			...x,
			switchover: { maxLatencySeconds: 5, waiveVerification: true },
			steps: x.steps.map((s) => (s.name.startsWith("switch-") ? s : { ...s, state: "done" })),
		}));
		await advanceProject(ctx, p.id);
		let now = await getProject(ctx, p.id);
		expect(now.state).toBe("running");
		expect(now.switchover?.blocked).toBe("waiting for the user to start the switchover");

		await updateProject(ctx, p.id, (x) => ({
			...x,
			switchover: {
				maxLatencySeconds: 5,
				waiveVerification: true,
				requestedAt: new Date(Date.now() - 1000).toISOString(),
			},
		}));
		await advanceProject(ctx, p.id);
		now = await getProject(ctx, p.id);
		expect(now.state).toBe("running");
		expect(now.switchover?.blocked).toMatch(/forward replay is (dead|starting).*the switchover waits for it/);

		process.env.FERRY_SWITCHOVER_REPLAY_WAIT_MS = "0";
		now = await advanceProject(ctx, p.id);
		expect(now.state).toBe("failed");
		expect(now.ticket?.step).toBe("switch-check");
		expect(now.ticket?.stopsReplication).toBeUndefined();
	});
});

describe("the switchover's latency check", () => {
	/** A project at its switchover, requested, whose forward replay runs and reports `latencySeconds`. */
	async function switching(ctx: ReturnType<typeof fakeContext>, latencySeconds: number, lateSince?: number) {
		const p = await seedProject(ctx, ["full", "incremental", "switchover"]);
		const requestedAt = new Date(Date.now() - 1000).toISOString();
		await updateProject(ctx, p.id, (x) => ({
			...x,
			switchover: { maxLatencySeconds: 5, waiveVerification: true, requestedAt, lateSince },
			steps: x.steps.map((s) => (s.name.startsWith("switch-") ? s : { ...s, state: "done" })),
		}));
		await ctx.store.create(streamKey(p.id), {
			owner: `task-${p.id}`,
			leaseUntil: Date.now() + 20_000,
			heartbeatAt: Date.now(),
			phase: "exact",
			session: "running",
			latencySeconds,
		});
		ctx.tasks.live.add(p.id);
		return p;
	}

	it("waits while replay's latency is above the bound, and forgets it once it came down", async () => {
		const ctx = fakeContext();
		const p = await switching(ctx, 111);
		// a stale reading (a task that just restarted): the check waits
		await advanceProject(ctx, p.id);
		let now = await getProject(ctx, p.id);
		expect(now.state).toBe("running");
		expect(now.switchover?.blocked).toMatch(/replay latency is 111 s, above the 5 s .*waits for it/);
		expect(now.switchover?.lateSince).toBeGreaterThan(0);
		// it came down: the check passes and forgets when it was late
		await ctx.store.modify(streamKey(p.id), (s) => ({ ...s, heartbeatAt: Date.now(), latencySeconds: 1 }));
		await advanceProject(ctx, p.id);
		now = await getProject(ctx, p.id);
		expect(now.steps.find((s) => s.name === "switch-check")?.state).toBe("done");
		expect(now.switchover?.lateSince).toBeUndefined();
	});

	it("opens a ticket once the latency stayed above the bound for the wait", async () => {
		const ctx = fakeContext();
		const p = await switching(ctx, 40, Date.now() - 61_000);
		const failed = await advanceProject(ctx, p.id);
		expect(failed.ticket?.step).toBe("switch-check");
		expect(failed.ticket?.message).toMatch(
			/replay latency is 40 s, above the 5 s the switchover allows: wait for replay/,
		);
	});
});
