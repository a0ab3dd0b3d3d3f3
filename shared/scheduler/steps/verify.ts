import { differs } from "../../model/project.ts";
import type { Step } from "../step.ts";
import { startVerification } from "../verification.ts";

/**
 * Full verification after the copy (and, with incremental, once replay has caught up: it goes
 * on during the run, and differences are rechecked after replay passes them). The run itself is
 * driven by verification.ts. A run with differences opens a ticket: correct them (and the
 * ticket's retry verifies again) or skip.
 */
export const verify: Step = {
	name: "verify",
	appliesTo: (types) => types.includes("verification"),
	async begin(ctx, project) {
		const v = project.verification;
		if (v && ["running", "paused", "correcting"].includes(v.state)) return;
		await startVerification(ctx, project.id);
	},
	async run(_ctx, project) {
		const v = project.verification;
		if (v?.state === "failed") throw new Error(`verification run ${v.run} failed: ${v.error}`);
		if (v?.state !== "done") return "waiting";
		const t = v.totals;
		if (t && differs(t)) {
			throw new Error(
				`verification run ${v.run} found differences in ${t.tablesDiffering} table(s): ${t.missing} missing, ${t.extra} extra, ${t.different} different rows${t.schema ? `, ${t.schema} in the tables themselves (a table or column at one end only)` : ""}; see the verification results, apply the correction and retry, or skip to accept them`,
			);
		}
		return "done";
	},
};
