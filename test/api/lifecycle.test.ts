import { describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import type { ApiError, FerryClient } from "../../shared/api/client.ts";
import type { Project } from "../../shared/model/project.ts";
import { destinationCredentials, sampleDatabases, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitForProject } from "../support/stack.ts";

describe("data source and project lifecycle through the API", () => {
	const db = uniqueDatabase("life");
	const t = useTestStack({ workers: 2, seed: () => sampleDatabases(sourceCredentials, 0.05, db), databases: [db] });

	it("adds, views, copies, edits and deletes a data source; edits are connection-tested", async () => {
		const added = await t.api.post<{ id: string; serverVersion: string }>("/datasources", {
			name: "orig",
			engine: "mariadb",
			...sourceCredentials,
		});
		expect(added.serverVersion).toMatch(/MariaDB/);
		const copy = await t.api.post<{ id: string; name: string; port: number }>(`/datasources/${added.id}/copy`, {
			name: "copy",
		});
		expect(copy).toMatchObject({ name: "copy", port: sourceCredentials.port });
		expect(copy.id).not.toBe(added.id);
		const badEdit = await t.api.patch(`/datasources/${copy.id}`, { password: "wrong" }).catch((e: ApiError) => e);
		expect((badEdit as ApiError).code).toBe("CONNECTION_FAILED");
		// a new address without the password: the stored secret is never sent anywhere new
		const moved = await t.api
			.patch(`/datasources/${copy.id}`, { port: destinationCredentials.port })
			.catch((e: ApiError) => e);
		expect((moved as ApiError).code).toBe("PASSWORD_REQUIRED");
		const edited = await t.api.patch<{ name: string; port: number }>(`/datasources/${copy.id}`, {
			name: "renamed",
			port: destinationCredentials.port,
			password: destinationCredentials.password,
		});
		expect(edited).toMatchObject({ name: "renamed", port: destinationCredentials.port });
		await t.api.delete(`/datasources/${copy.id}`);
		await t.api.delete(`/datasources/${added.id}`);
		const left = (await t.api.get<{ id: string }[]>("/datasources")).map((d) => d.id);
		expect(left).not.toContain(copy.id);
		expect(left).not.toContain(added.id);
	});

	it("pauses and resumes a running migration, exports and imports object settings, then releases and deletes", async () => {
		const draft = await t.api.post<Project>("/projects", {
			name: "life",
			...t.ids,
			types: ["schema", "full"],
			objects: [{ database: "placeholder" }],
			options: { parallelism: 1, chunkRows: 300, maxRowsPerSecond: 20_000 },
			tags: ["team-a"],
		});
		const exported = await t.api.get<{ format: string; objects: unknown[] }>(`/projects/${draft.id}/objects`);
		expect(exported).toEqual({
			format: "ferry-objects/1",
			objects: [{ database: "placeholder", table: "*", exclude: false }],
		});
		await t.api.put(`/projects/${draft.id}/objects`, { ...exported, objects: [{ database: db }] });
		expect((await t.api.get<Project[]>("/projects?tag=team-a")).map((p) => p.id)).toContain(draft.id);

		await t.api.post(`/projects/${draft.id}/actions/start`);
		const lateImport = await t.api.put(`/projects/${draft.id}/objects`, exported).catch((e: ApiError) => e);
		expect((lateImport as ApiError).status).toBe(409);
		// pause once some chunks are done, check nothing moves, then resume
		await waitForRows(t.api, draft.id, 1);
		await t.api.post(`/projects/${draft.id}/actions/pause`);
		await new Promise((r) => setTimeout(r, 1500));
		const paused = await t.api.get<{ full?: { rowsCopied: number } }>(`/projects/${draft.id}/status`);
		await new Promise((r) => setTimeout(r, 1500));
		const stillPaused = await t.api.get<{ state: string; full?: { rowsCopied: number } }>(
			`/projects/${draft.id}/status`,
		);
		expect(stillPaused.state).toBe("paused");
		expect(stillPaused.full?.rowsCopied).toBe(paused.full?.rowsCopied);
		await t.api.post(`/projects/${draft.id}/actions/resume`);
		const done = await waitForProject(t.api, draft.id, 120_000);
		expect(done.state, JSON.stringify(done.ticket)).toBe("completed");
		expect((await compareDatabases(sourceCredentials, destinationCredentials, db)).identical).toBe(true);

		const running = await t.api.delete(`/projects/${draft.id}`).catch((e: ApiError) => e);
		expect(running).toBeUndefined(); // a completed project may be deleted
		const gone = await t.api.get(`/projects/${draft.id}`).catch((e: ApiError) => e);
		expect((gone as ApiError).status).toBe(404);
	}, 180_000);
});

async function waitForRows(api: FerryClient, id: string, min: number): Promise<void> {
	for (let i = 0; i < 200; i++) {
		const s = await api.get<{ full?: { rowsCopied: number } }>(`/projects/${id}/status`);
		if ((s.full?.rowsCopied ?? 0) >= min) return;
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error("no rows copied");
}
