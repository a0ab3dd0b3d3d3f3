import type { FerryClient } from "../shared/api/client.ts";
import type { ProjectStatus } from "../shared/control/status.ts";
import { differs, type VerificationRun } from "../shared/model/project.ts";
import type { VerificationResults } from "../shared/scheduler/verification-results.ts";

/** Tables `ferry project status` shows unless told: a page costs the API the same whatever the project's tables. */
export const TABLES_PAGE = 50;

/** The options as typed: the API checks them and says what is wrong. */
export interface TablesPageOption {
	from: string | number;
	limit: string | number;
}

/**
 * Whether a person needs the run's tables beside its totals: while it runs (each table's
 * progress) or when it found differences (where they are). A clean finished run's totals say it all.
 */
const needsTables = (run: VerificationRun) => run.state !== "done" || !run.totals || differs(run.totals);

/**
 * A project's status with one page of its tables and, when needed, the verification's per-table
 * results (a paged status carries the run alone: they are GET /projects/{id}/verification's).
 */
export async function readStatus(api: FerryClient, id: string, page: TablesPageOption): Promise<ProjectStatus> {
	const project = `/projects/${encodeURIComponent(id)}`;
	const query = new URLSearchParams({ tablesFrom: String(page.from), tablesLimit: String(page.limit) });
	const status = await api.get<ProjectStatus>(`${project}/status?${query}`);
	const run = status.verification?.run;
	if (run && needsTables(run)) status.verification = await api.get<VerificationResults>(`${project}/verification`);
	return status;
}
