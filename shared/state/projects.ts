import { notFound } from "../errors.ts";
import type { Project } from "../model/project.ts";
import { PROJECTS_PK, projectAlertItems, projectKey, projectPartitions } from "./keys.ts";
import { type HasStore, withoutKey } from "./store.ts";

/** Project items: settings, state, steps, ticket, findings, and each phase's progress. */

type Item = Omit<Project, "id">;
export async function createProjectItem(ctx: HasStore, id: string, project: Item): Promise<Project> {
	await ctx.store.create(projectKey(id), project);
	return { ...project, id };
}

export async function getProject(ctx: HasStore, id: string): Promise<Project> {
	const stored = await ctx.store.get<Item>(projectKey(id));
	if (!stored) throw notFound("project", id);
	return { ...withoutKey(stored), id };
}

export async function listProjects(ctx: HasStore, tag?: string): Promise<Project[]> {
	const all = await ctx.store.list<Item>(PROJECTS_PK);
	return all.map((p) => ({ ...withoutKey(p), id: p.sk })).filter((p) => tag === undefined || p.tags.includes(tag));
}

/**
 * Changes a project atomically (conditional write on its version). `change` sees the latest
 * stored project and returns the new one, or throws to refuse.
 */
export async function updateProject(ctx: HasStore, id: string, change: (p: Project) => Project): Promise<Project> {
	const saved = await ctx.store.modify<Item>(projectKey(id), (cur) => {
		const { id: _id, ...next } = change({ ...withoutKey(cur), id });
		return { ...next, updatedAt: new Date().toISOString() };
	});
	if (!saved) throw notFound("project", id);
	return { ...withoutKey(saved), id };
}

/** Deletes a project's item and every partition of its own (chunks, tables, verification runs, reports, triggers). */
export async function deleteProjectItems(ctx: HasStore, project: Project): Promise<void> {
	for (const pk of projectPartitions(project.id, project.verification?.run ?? 0)) {
		for await (const item of ctx.store.query(pk)) await ctx.store.delete(item);
	}
	for (const key of projectAlertItems(project.id)) await ctx.store.delete(key);
	await ctx.store.delete(projectKey(project.id));
}
