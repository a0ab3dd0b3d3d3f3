import { describe, expect, it } from "vitest";
import { ROLE_NEEDED } from "../../shared/api/access.ts";
import { ApiError, FerryClient } from "../../shared/api/client.ts";
import type { Route } from "../../shared/api/route.ts";
import { ROUTES } from "../../shared/api/routes.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Role } from "../../shared/model/actor.ts";
import type { ProjectEvent } from "../../shared/state/events.ts";
import {
	destinationCredentials,
	execute,
	occupiedTable,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { useTestStack, waitForProject } from "../support/stack.ts";

/**
 * Roles on a real local stack: a token per role (shared/local/tokens.ts). Every route of the
 * API is tried (ROUTES, so routes added later are covered too), path parameters filled with
 * real ids where the route names a project or a data source.
 */

/** What an API call answered: its status, and the refusal's code and message. */
async function answer(p: Promise<unknown>): Promise<{ status: number; code?: string; message?: string }> {
	try {
		await p;
		return { status: 200 };
	} catch (err) {
		if (err instanceof ApiError) return { status: err.status, code: err.code, message: err.message };
		throw err;
	}
}

function pathOf(r: Route, ids: { project: string; dataSource: string }): string {
	return r.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
		if (name === "id") return r.path.startsWith("/datasources") ? ids.dataSource : ids.project;
		return name === "action" ? "start" : `some-${name}`;
	});
}

const mutating = ROUTES.filter((r) => r.method !== "GET");

describe("roles: viewers read, operators run projects, admins manage data sources", () => {
	const db = uniqueDatabase("roles");
	const t = useTestStack({ workers: 1, databases: [db] });
	const as = (role: Role) => new FerryClient(t.stack.apiUrl, t.stack.tokens[role]);

	it("refuses a viewer with 403 on every mutating route, before reading the body, and changes nothing; lets it read", async () => {
		const project = await t.api.post<{ id: string }>("/projects", {
			...t.ids,
			name: "looked at",
			types: ["schema", "full"],
			objects: [{ database: db }],
		});
		const ids = { project: project.id, dataSource: t.ids.sourceId };
		const snapshot = async () =>
			JSON.stringify(
				await Promise.all(
					["/datasources", "/projects", `/projects/${project.id}`, `/projects/${project.id}/events`, "/events"].map(
						(p) => t.api.get(p),
					),
				),
			);
		const before = await snapshot();
		const viewer = as("viewer");
		expect(mutating.length).toBeGreaterThan(15);
		for (const r of mutating) {
			// a malformed body: a check after parsing would answer 400
			const refused = await answer(viewer.call(r.method, pathOf(r, ids), "{not json"));
			expect(refused, `${r.method} ${r.path}`).toEqual({
				status: 403,
				code: "FORBIDDEN",
				message: `${r.method} ${r.path} needs the ${ROLE_NEEDED[r.access]} role (or higher); local viewer is viewer`,
			});
		}
		expect(await snapshot()).toBe(before);

		for (const r of ROUTES.filter((r) => r.method === "GET")) {
			const read = await answer(viewer.get(pathOf(r, ids)));
			// allowed: answered, or refused for what the object is (no verification run yet), never for the role
			expect([200, 404, 409, 422], `${r.method} ${r.path}: ${read.message}`).toContain(read.status);
		}
		expect((await answer(viewer.get(`/projects/${project.id}`))).status).toBe(200);
		const wrong = await fetch(`${t.stack.apiUrl}/projects`, { headers: { authorization: "Bearer not-a-token" } });
		expect(wrong.status).toBe(401);
	});

	it("refuses an operator on admin routes and lets it through on operate routes", async () => {
		const operator = as("operator");
		const ids = { project: "pr-nosuch", dataSource: t.ids.destinationId };
		const admin = mutating.filter((r) => r.access === "admin");
		expect(admin.map((r) => r.operationId)).toEqual(
			expect.arrayContaining([
				"addDataSource",
				"updateDataSource",
				"copyDataSource",
				"deleteDataSource",
				"deleteProject",
			]),
		);
		for (const r of admin) {
			const refused = await answer(operator.call(r.method, pathOf(r, ids), "{}"));
			expect(refused, `${r.method} ${r.path}`).toMatchObject({ status: 403, code: "FORBIDDEN" });
			expect(refused.message).toContain("needs the admin role");
		}
		for (const r of mutating.filter((r) => r.access === "operate")) {
			// past the role check: the project does not exist or the body is incomplete
			const through = await answer(operator.call(r.method, pathOf(r, ids), "{}"));
			expect([400, 404, 422], `${r.method} ${r.path}: ${through.message}`).toContain(through.status);
		}
		expect((await t.api.get<unknown[]>("/datasources")).length).toBe(2);
	});

	it("records every change with its author, and the steps and the ticket with theirs", async () => {
		const admin = as("admin");
		const operator = as("operator");
		const calls: { role: Role; timeline: string; what: string; from: string; to: string }[] = [];
		/** Makes a change as `role`, noting the timeline it belongs to (given, or read from what it answered). */
		const call = async <T>(
			role: Role,
			timeline: string | ((out: T) => string),
			what: string,
			made: () => Promise<T>,
		): Promise<T> => {
			const from = new Date().toISOString();
			const out = await made();
			const where = typeof timeline === "string" ? timeline : timeline(out);
			calls.push({ role, timeline: where, what, from, to: new Date().toISOString() });
			return out;
		};

		const copy = await call("admin", "global", "copy a data source", () =>
			admin.post<{ id: string }>(`/datasources/${t.ids.sourceId}/copy`, { name: "src copy" }),
		);
		await call("admin", "global", "edit it", () =>
			admin.patch(`/datasources/${copy.id}`, { name: "src copy 2", password: sourceCredentials.password }),
		);
		await call("admin", "global", "delete it", () => admin.delete(`/datasources/${copy.id}`));
		await call("operator", "global", "test a connection", () =>
			operator.post("/datasources/test", { ...sourceCredentials }),
		);

		await occupiedTable(db, 9); // the destination's row 9 is in the way: precheck fails
		const p = await call(
			"operator",
			(created) => created.id,
			"create a project",
			() =>
				operator.post<{ id: string }>("/projects", {
					...t.ids,
					name: "run",
					types: ["schema", "full"],
					objects: [{ database: "elsewhere" }],
				}),
		);
		const id = p.id;
		await call("operator", id, "import objects", () =>
			operator.put(`/projects/${id}/objects`, { format: "ferry-objects/1", objects: [{ database: db }] }),
		);
		await call("operator", id, "start", () => operator.post(`/projects/${id}/actions/start`));
		const failed = await waitForProject(t.api, id, 30_000);
		expect(failed.ticket?.step).toBe("precheck");
		await execute(destinationCredentials, `DELETE FROM ${quoteId(db)}.t`);
		await call("operator", id, "retry", () => operator.post(`/projects/${id}/ticket`, { decision: "retry" }));
		expect((await waitForProject(t.api, id, 60_000)).state).toBe("completed");

		const events = await as("viewer").get<ProjectEvent[]>(`/projects/${id}/events`);
		// the steps and the ticket, in order, each by whoever did it
		const story = events
			.filter((e) => e.kind.startsWith("step-") || e.kind.startsWith("ticket-"))
			.map((e) => `${e.kind} ${e.subject} by ${e.actor.name}`);
		const steps = (await t.api.get<{ steps: { name: string }[] }>(`/projects/${id}`)).steps.map((x) => x.name);
		expect(steps).toContain("full");
		const resolved = "ticket-resolved precheck by local operator";
		// the scheduler may start the retried step before the decision's event is written
		expect(story.filter((e) => e !== resolved)).toEqual([
			"step-started precheck by ferry",
			"step-failed precheck by ferry",
			"ticket-opened precheck by ferry",
			...steps.flatMap((step) => [`step-started ${step} by ferry`, `step-done ${step} by ferry`]),
		]);
		expect(story.indexOf(resolved)).toBeGreaterThan(story.indexOf("ticket-opened precheck by ferry"));
		expect(story.indexOf(resolved)).toBeLessThan(story.indexOf("step-done precheck by ferry"));
		expect(events.find((e) => e.kind === "ticket-resolved")?.actor).toEqual({
			name: "local operator",
			role: "operator",
		});

		await call("admin", "global", "delete the project", () => admin.delete(`/projects/${id}`));
		const global = await t.api.get<ProjectEvent[]>("/events");
		for (const c of calls) {
			const timeline = c.timeline === "global" ? global : events;
			// (the scheduler may record its own steps meanwhile)
			const made = timeline.filter((e) => e.actor.role !== "system" && e.at >= c.from && e.at <= c.to);
			expect(made, `${c.what} by ${c.role}`).toHaveLength(1);
			expect(made[0]?.actor, c.what).toEqual({ name: `local ${c.role}`, role: c.role });
		}
		expect(global.at(-1)?.message).toContain(`DELETE /projects/${id}`);
		expect(global.find((e) => e.subject === "copyDataSource")?.details).toEqual({ id: copy.id });
		// settings changed: who, old and new (the password never, only that it changed)
		const edit = global.find((e) => e.kind === "settings-changed" && e.subject === copy.id);
		expect(edit?.details).toEqual({
			name: { old: "src copy", new: "src copy 2" },
			password: { old: "(hidden)", new: "(changed)" },
		});
		expect(sourceCredentials.password.length).toBeGreaterThan(3);
		expect(JSON.stringify([global, events])).not.toContain(sourceCredentials.password);
		const imported = events.find((e) => e.kind === "settings-changed");
		expect(imported?.details).toMatchObject({
			objects: { old: [{ database: "elsewhere" }], new: [{ database: db }] },
		});
		// the time filter
		const since = calls.at(-1)?.from ?? "";
		expect((await t.api.get<ProjectEvent[]>(`/events?from=${since}`)).map((e) => e.subject)).toEqual(["deleteProject"]);
		expect((await answer(t.api.get("/events?from=yesterday"))).status).toBe(400);
	});
});
