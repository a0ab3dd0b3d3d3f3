import { useState } from "preact/hooks";
import type { VerificationResults } from "../../../../shared/scheduler/verification-results.ts";
import { ApiError, api, seg } from "../../api.ts";
import { StateBadge } from "../../ui/badges.tsx";
import { Action } from "../../ui/controls.tsx";
import { saveFile } from "../../ui/download.ts";
import { num } from "../../ui/format.ts";
import { Failure } from "../../ui/states.tsx";

interface Props {
	projectId: string;
	results: VerificationResults;
	reload(): void;
}

const countOf = (r: VerificationResults) => {
	const t = r.run.totals;
	return t ? t.missing + t.extra + t.different : 0;
};

/**
 * Correction in one flow: read the SQL Ferry would run, apply it at the side that is not the
 * truth, and watch the re-verification of the corrected tables come back.
 */
export function CorrectionFlow({ projectId, results, reload }: Props) {
	const { run } = results;
	const [script, setScript] = useState<{ run: number; text: string } | undefined>(undefined);
	const [previewError, setPreviewError] = useState<Error | undefined>(undefined);
	const [loading, setLoading] = useState(false);
	const [applied, setApplied] = useState<number | undefined>(undefined);
	const path = `/projects/${seg(projectId)}/verification/correction`;
	const target = run.truth === "destination" ? "source" : "destination";
	const correctable = run.state === "done" && countOf(results) > 0;
	if (!correctable && run.state !== "correcting" && applied === undefined) return null;

	const preview = async () => {
		setLoading(true);
		setPreviewError(undefined);
		try {
			const r = await api.get<{ run: number; script: string }>(path);
			setScript({ run: r.run, text: r.script });
		} catch (err) {
			setPreviewError(err as Error);
		} finally {
			setLoading(false);
		}
	};
	const saveSql = () => script && saveFile(`ferry-correction-run${script.run}.sql`, script.text, "application/sql");
	return (
		<section class="panel" aria-labelledby="correction">
			<h2 id="correction">{correctable ? "Correct the differences" : "Correction"}</h2>
			<ol class="flow">
				<li>
					<h3>1. Read the correction SQL</h3>
					<p class="hint">
						Built from the {run.truth ?? "source"}'s rows as they are now, for the {target}; rows that became equal
						since the run are left out.
					</p>
					<div class="toolbar">
						<button type="button" onClick={preview} disabled={loading || !correctable} aria-busy={loading}>
							{loading ? "Loading…" : script ? "Preview again" : "Preview the correction SQL"}
						</button>
						{script && (
							<button type="button" onClick={saveSql}>
								Download the SQL
							</button>
						)}
					</div>
					{previewError && <Failure error={previewError} what="the correction SQL" />}
					{script && (
						<>
							<label for="correction-sql">Correction SQL for run {script.run}</label>
							<textarea id="correction-sql" class="sql" readOnly rows={14} value={script.text} />
						</>
					)}
				</li>
				<li>
					<h3>2. Apply it at the {target}</h3>
					<Action
						access="operate"
						kind="danger"
						disabled={!correctable || !script || script.run !== run.run}
						title={!script ? "Read the SQL first" : undefined}
						confirm={`Run these statements at the ${target}?`}
						run={async () => {
							try {
								// the run read: the server refuses if another run finished since
								await api.post(path, { run: script?.run });
							} catch (err) {
								if (err instanceof ApiError && err.code === "NOTHING_TO_CORRECT") reload();
								throw err;
							}
							setApplied(run.run);
							setScript(undefined);
							reload();
							return `Correction of run ${run.run} applied at the ${target}; the corrected tables are verified again`;
						}}
					>
						Apply the correction
					</Action>
				</li>
				<li>
					<h3>3. Re-verification</h3>
					<Reverification results={results} applied={applied} />
				</li>
			</ol>
		</section>
	);
}

function Reverification({ results, applied }: { results: VerificationResults; applied: number | undefined }) {
	const { run } = results;
	if (run.state === "correcting")
		return (
			<p role="status">
				<StateBadge state="running" /> Applying the correction of run {run.correcting ?? run.run}…
			</p>
		);
	if (applied === undefined || run.run <= applied)
		return (
			<p class="hint">After the correction, Ferry verifies the corrected tables again and shows the result here.</p>
		);
	if (run.state !== "done")
		return (
			<p role="status">
				<StateBadge state={run.state} /> Run {run.run} is verifying the corrected tables again…
			</p>
		);
	const left = countOf(results);
	return (
		<p role="status" class={left ? "bad-text" : "yes"}>
			{left
				? `Run ${run.run} still finds ${num(left)} differing rows: rows written meanwhile may differ again; look at them above.`
				: `Run ${run.run} verified the corrected tables again: clean.`}
		</p>
	);
}
