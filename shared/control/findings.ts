import type { Context } from "../context.ts";
import { conflict, notFound } from "../errors.ts";
import { findingId } from "../model/findings.ts";
import type { Project } from "../model/project.ts";
import { updateProject } from "../state/projects.ts";

/** The user accepts one blocking finding of the last precheck; the next precheck (a retry) lets it pass. */
export async function waiveFinding(ctx: Context, projectId: string, id: string): Promise<Project> {
	return updateProject(ctx, projectId, (p) => {
		const finding = (p.findings ?? []).find((f) => (f.id ?? findingId(f)) === id);
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
