import type { Context } from "../context.ts";
import { conflict, notFound } from "../errors.ts";
import { findingId } from "../model/findings.ts";
import type { Finding, Project } from "../model/project.ts";
import { getProject, updateProject } from "../state/projects.ts";
import { dryRunPrecheck } from "./before-start.ts";

const idOf = (f: Finding) => f.id ?? findingId(f);

/**
 * The user accepts one blocking finding: of the last precheck, or, before the project starts,
 * of its dry run (the create wizard's precheck page); the precheck then lets it pass.
 */
export async function waiveFinding(ctx: Context, projectId: string, id: string): Promise<Project> {
	const current = await getProject(ctx, projectId);
	const recorded = (current.findings ?? []).some((f) => idOf(f) === id);
	// a project that has not started has recorded nothing: its dry run says what may be waived
	const dryRun = !recorded && current.state === "new" ? (await dryRunPrecheck(ctx, projectId)).findings : [];
	return updateProject(ctx, projectId, (p) => {
		const finding = [...(p.findings ?? []), ...dryRun].find((f) => idOf(f) === id);
		if (!finding) throw notFound(`finding of project '${p.name}'`, id);
		if (finding.level !== "error" && !finding.waived) {
			throw conflict("NOT_BLOCKING", `finding ${id} of '${p.name}' is a warning: it does not block, nothing to waive`);
		}
		if (p.state === "released") throw conflict("BAD_STATE", `project '${p.name}' is released`);
		const waived = new Set(p.waivedFindings ?? []);
		waived.add(id);
		return { ...p, waivedFindings: [...waived] };
	});
}
