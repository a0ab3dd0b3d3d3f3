import { describe, expect, it } from "vitest";
import { resolveTicket } from "../../shared/control/projects.ts";
import type { Actor } from "../../shared/model/actor.ts";
import { advanceProject } from "../../shared/scheduler/loop.ts";
import { listEvents } from "../../shared/state/events.ts";
import { streamKey } from "../../shared/state/keys.ts";
import { updateProject } from "../../shared/state/projects.ts";
import { fakeContext } from "../support/fakes.ts";
import { scriptedStep, seedProject } from "./support.ts";

/** The timeline's recording points in the scheduler, against in-memory fakes: once per change, never per tick. */

const operator: Actor = { name: "dba", role: "operator" };

async function timeline(ctx: ReturnType<typeof fakeContext>, id: string) {
	return (await listEvents(ctx, id)).map((e) => [e.kind, e.subject, e.actor.name]);
}

describe("the scheduler's timeline", () => {
	it("records each step's start and end, a failure and its ticket by Ferry, and who resolved the ticket", async () => {
		const ctx = fakeContext();
		const steps = [scriptedStep("a", ["done"]), scriptedStep("b", ["waiting", new Error("boom"), "done"])];
		const p = await seedProject(ctx, ["full"], { steps });
		await advanceProject(ctx, p.id, steps);
		await advanceProject(ctx, p.id, steps);
		// a failed project is visited on later ticks too: nothing more to say until someone decides
		await advanceProject(ctx, p.id, steps);
		expect(await timeline(ctx, p.id)).toEqual([
			["step-started", "a", "ferry"],
			["step-done", "a", "ferry"],
			["step-started", "b", "ferry"],
			["step-failed", "b", "ferry"],
			["ticket-opened", "b", "ferry"],
		]);
		const opened = (await listEvents(ctx, p.id)).at(-1);
		expect(opened?.message).toContain("boom");

		await resolveTicket(ctx, p.id, "retry", operator, steps);
		await advanceProject(ctx, p.id, steps);
		const after = (await timeline(ctx, p.id)).slice(5);
		expect(after).toEqual([
			["ticket-resolved", "b", "dba"],
			["step-started", "b", "ferry"],
			["step-done", "b", "ferry"],
		]);
		const resolved = (await listEvents(ctx, p.id))[5];
		expect(resolved?.actor).toEqual(operator);
		expect(resolved?.details).toMatchObject({ decision: "retry" });
	});

	it("records a replication task's first start once while it starts, and its death and restart once", async () => {
		const ctx = fakeContext();
		const p = await seedProject(ctx, ["full", "incremental"]);
		await updateProject(ctx, p.id, (x) => ({
			...x,
			steps: x.steps.map((s) =>
				s.name === "incremental" ? { ...s, state: "running", begun: true } : { ...s, state: "done" },
			),
		}));
		const tasks = async () => (await listEvents(ctx, p.id)).filter((e) => e.kind.startsWith("task-"));

		await advanceProject(ctx, p.id);
		// started but no heartbeat yet: the scheduler starts it again (harmless), the timeline says nothing more
		await advanceProject(ctx, p.id);
		expect(ctx.tasks.started).toEqual([p.id, p.id]);
		expect((await tasks()).map((e) => [e.kind, e.message])).toEqual([
			["task-started", "forward replication task started"],
		]);

		await ctx.store.create(streamKey(p.id), {
			owner: "t1",
			leaseUntil: Date.now() - 1,
			heartbeatAt: Date.now() - 60_000,
			phase: "exact",
			session: "running",
			lastError: "connection lost",
		});
		ctx.tasks.live.delete(p.id); // the process died
		await advanceProject(ctx, p.id);
		await advanceProject(ctx, p.id); // its successor has not reported yet
		const died = (await tasks()).slice(1);
		expect(died.map((e) => e.kind)).toEqual(["task-died", "task-started"]);
		expect(died[0]?.message).toMatch(/no heartbeat for 60 s; last error: connection lost/);
		expect(died[1]?.message).toBe("forward replication task restarted");
		expect(died.every((e) => e.actor.role === "system" && e.subject === p.id)).toBe(true);

		// a task that ended on its own (the project was paused) is started again without dying
		await ctx.store.modify(streamKey(p.id), (s) => ({ ...s, session: "ended" }));
		ctx.tasks.live.delete(p.id);
		await advanceProject(ctx, p.id);
		expect((await tasks()).slice(3).map((e) => e.kind)).toEqual(["task-started"]);
	});
});
