import { useState } from "preact/hooks";
import type { ProjectStatus } from "../../../../shared/control/status.ts";
import type { Project } from "../../../../shared/model/project.ts";
import { api, seg } from "../../api.ts";
import { can } from "../../session.ts";
import { StateBadge } from "../../ui/badges.tsx";
import { Action } from "../../ui/controls.tsx";
import { duration, time } from "../../ui/format.ts";
import { Empty } from "../../ui/states.tsx";
import type { TabProps } from "./tab.ts";

type Check = { name: string; state: "ok" | "waiting" | "bad" | "off"; detail: string };

/** Where a stream has applied up to: a GTID state, a file offset, or a TiDB commit timestamp. */
function positionText(p: NonNullable<ProjectStatus["incremental"]>["position"]): string | undefined {
	if (!p) return undefined;
	if (p.tso) return `TSO ${p.tso}`;
	return [p.gtid && `GTID ${p.gtid}`, p.file && `${p.file}:${p.pos}`].filter(Boolean).join(", ") || undefined;
}

/** The switchover's gates as the switch-check step applies them (scheduler/steps/switch-check.ts), item by item. */
export function readiness(project: Project, status: ProjectStatus, maxLatency: number, waive: boolean): Check[] {
	const checks: Check[] = [];
	const fwd = status.incremental;
	const lat = fwd?.latencySeconds;
	const where = positionText(fwd?.position);
	const drained = status.switchover?.forwardStopped;
	checks.push({
		name: "Replay latency under the threshold",
		state: drained
			? "ok"
			: fwd?.state === "running" && lat !== undefined
				? lat <= maxLatency
					? "ok"
					: "waiting"
				: "waiting",
		detail: drained
			? `forward replay drained to the source's final position and stopped${where ? ` (${where})` : ""}`
			: fwd === undefined
				? "forward replay has not started"
				: `${fwd.state === "running" ? "" : `replay is ${fwd.state}${fwd.stateReason ? ` (${fwd.stateReason})` : ""}; `}latency ${lat === undefined ? "unknown" : duration(lat)} (threshold ${duration(maxLatency)})${where ? `; applied up to ${where}` : ""}`,
	});
	// from the polled status: the project itself is read once
	const v = status.verification?.run;
	const clean = v?.state === "done" && v.fullRun !== undefined && (v.differing ?? []).length === 0;
	const finished = time(v?.finishedAt);
	checks.push({
		name: "Verification clean",
		state: clean ? "ok" : waive ? "off" : v?.state === "failed" ? "bad" : "waiting",
		detail: clean
			? `clean since run ${v?.fullRun} over every table${v && v.run !== v.fullRun ? ` (and run ${v.run})` : ""}, finished ${finished.text}`
			: `${!v ? "never run" : v.state !== "done" ? `run ${v.run} is ${v.state}` : v.fullRun === undefined ? "no run has covered every table" : `differences remain in ${(v.differing ?? []).join(", ")}`}${waive ? "; waived" : ""}`,
	});
	if (project.types.includes("reverse")) {
		const step = status.steps.find((s) => s.name === "reverse");
		const rev = status.reverse;
		checks.push({
			name: "Reverse replication ready",
			state: step?.state === "failed" || rev?.state === "dead" ? "bad" : "ok",
			detail: rev
				? `reverse replay is ${rev.state}${rev.latencySeconds !== undefined ? `, latency ${duration(rev.latencySeconds)}` : ""}`
				: "starts from the destination's position at the switch, so no write made there is missed",
		});
	}
	checks.push({
		name: "No open ticket",
		state: status.ticket ? "bad" : "ok",
		detail: status.ticket ? `step ${status.ticket.step}: ${status.ticket.message}` : "none",
	});
	return checks;
}

const CHECK_WORD: Record<Check["state"], string> = { ok: "ready", waiting: "not yet", bad: "blocked", off: "waived" };

/**
 * The switchover tab: a readiness checklist that turns green item by item, the switch's steps,
 * starting it, and the confirmation that the application stopped writing to the source.
 */
export function SwitchoverTab({ project, status, reload }: TabProps) {
	const sw = status.switchover;
	const [maxLatency, setMaxLatency] = useState(sw?.maxLatencySeconds ?? 5);
	const [waive, setWaive] = useState(sw?.waiveVerification ?? false);
	if (!project.types.includes("switchover"))
		return <Empty title="This project has no switchover: it is not among its migration types." />;
	const path = `/projects/${seg(project.id)}/switchover`;
	// the settings are the user's until writes stopped, and only an operator's
	const locked = !!sw?.writesStoppedAt || !can("operate");
	const checks = readiness(project, status, maxLatency, waive);
	const ready = checks.every((c) => c.state === "ok" || c.state === "off");
	const steps = status.steps.filter((s) => s.name.startsWith("switch-") || s.name === "reverse");
	const checked = steps.find((s) => s.name === "switch-check" && s.state === "done");
	const done = steps.length > 0 && steps.every((s) => s.state === "done" || s.name === "reverse");
	return (
		<>
			<section class="panel" aria-labelledby="sw-ready">
				<h2 id="sw-ready">Readiness</h2>
				{checked?.finishedAt && (
					<p class="hint" title={time(checked.finishedAt).title}>
						The switchover checked these and went on at {time(checked.finishedAt).text}.
					</p>
				)}
				<ul class="checklist">
					{checks.map((c) => (
						<li key={c.name} class={`check check-${c.state}`}>
							<span class="check-mark" aria-hidden="true">
								{c.state === "ok" ? "✓" : c.state === "bad" ? "✕" : c.state === "off" ? "–" : "…"}
							</span>
							<span>
								<strong>{c.name}</strong> <span class={`badge badge-${TONE[c.state]}`}>{CHECK_WORD[c.state]}</span>
								<span class="check-detail">{c.detail}</span>
							</span>
						</li>
					))}
				</ul>
				{sw?.blocked && (
					<p class="stale" role="status">
						The switchover waits: {sw.blocked}
					</p>
				)}
			</section>
			<section class="panel" aria-labelledby="sw-start">
				<h2 id="sw-start">{sw?.requestedAt ? "Switchover settings" : "Start the switchover"}</h2>
				<div class="form-row sw-form">
					<div>
						<label for="sw-latency">Largest replay latency to switch at (seconds)</label>
						<input
							id="sw-latency"
							type="number"
							min={0}
							max={3600}
							value={maxLatency}
							disabled={locked}
							onInput={(e) => setMaxLatency(Number(e.currentTarget.value))}
						/>
					</div>
					<div class="check-input">
						<input
							id="sw-waive"
							type="checkbox"
							checked={waive}
							disabled={locked}
							onChange={(e) => setWaive(e.currentTarget.checked)}
						/>
						<label for="sw-waive">Switch without a clean verification (waive it)</label>
					</div>
				</div>
				<div class="toolbar">
					<Action
						access="operate"
						kind="primary"
						disabled={!!sw?.writesStoppedAt || !(maxLatency >= 0 && maxLatency <= 3600)}
						title={sw?.writesStoppedAt ? "Past the point of changing the settings" : undefined}
						run={async () => {
							await api.post(path, { maxLatencySeconds: maxLatency, waiveVerification: waive });
							reload();
							return sw?.requestedAt ? "Switchover settings changed" : "Switchover started";
						}}
					>
						{sw?.requestedAt ? "Change the settings" : "Start the switchover"}
					</Action>
					{!ready && !sw?.requestedAt && (
						<span class="hint">
							Not every item is ready: the switchover's check waits a while for replay, but opens a ticket at once for a
							verification that is not clean (unless waived).
						</span>
					)}
					{sw?.requestedAt && <span class="hint">Started {time(sw.requestedAt).text}</span>}
				</div>
			</section>
			<WritesStopped project={project} status={status} reload={reload} />
			<section class="panel" aria-labelledby="sw-steps">
				<h2 id="sw-steps">Steps</h2>
				{done && <p class="yes">The switchover is done: the destination takes the writes.</p>}
				<div class="table-wrap">
					<table>
						<caption class="visually-hidden">The switchover's steps in order</caption>
						<thead>
							<tr>
								<th scope="col">Step</th>
								<th scope="col">State</th>
								<th scope="col">Started</th>
								<th scope="col">Done</th>
							</tr>
						</thead>
						<tbody>
							{steps.map((s, i) => {
								const started = time(s.startedAt);
								const finished = time(s.finishedAt);
								return (
									<tr key={s.name}>
										<th scope="row">
											{i + 1}. {STEP_TEXT[s.name] ?? s.name}
											{s.error && <div class="bad-text">{s.error}</div>}
										</th>
										<td>
											<StateBadge state={s.state} />
										</td>
										<td title={started.title}>{s.startedAt ? started.text : "–"}</td>
										<td title={finished.title}>{s.finishedAt ? finished.text : "–"}</td>
									</tr>
								);
							})}
						</tbody>
					</table>
				</div>
			</section>
		</>
	);
}

const TONE: Record<Check["state"], string> = { ok: "ok", waiting: "warn", bad: "bad", off: "neutral" };

const STEP_TEXT: Record<string, string> = {
	"switch-check": "Check latency and verification",
	"switch-writes": "Wait for writes to the source to stop",
	"switch-drain": "Drain replay to the source's final position",
	"switch-stop-forward": "Stop forward replay",
	"switch-destination": "Make the destination a primary (its triggers and events)",
	"switch-source": "Quiet the source (its triggers dropped, events disabled)",
	reverse: "Reverse replication (destination → source)",
};

function WritesStopped({ project, status, reload }: TabProps) {
	const sw = status.switchover;
	if (!sw?.requestedAt) return null;
	if (sw.writesStoppedAt) {
		const t = time(sw.writesStoppedAt);
		return (
			<section class="panel" aria-labelledby="sw-writes">
				<h2 id="sw-writes">Writes stopped</h2>
				<p>
					Confirmed <span title={t.title}>{t.text}</span>.{" "}
					{sw.forwardStopped
						? "Forward replay has drained and stopped: point the application at the destination."
						: "Replay drains to the source's last position, then the switch goes on."}
				</p>
			</section>
		);
	}
	return (
		<section class="panel warning-panel" aria-labelledby="sw-writes">
			<h2 id="sw-writes">Confirm writes stopped</h2>
			<p>
				<strong>Warning:</strong> confirm only once <strong>every application has stopped writing to the source</strong>{" "}
				of {project.name}. Ferry then takes the source's current position as its last one, drains replay up to it and
				stops forward replay for good: a write to the source after this point never reaches the destination. This cannot
				be undone.
			</p>
			<Action
				access="operate"
				kind="danger"
				confirm="Every application has stopped writing to the source?"
				run={async () => {
					await api.post(`/projects/${seg(project.id)}/switchover/writes-stopped`);
					reload();
					return "Writes stopped confirmed: replay drains, then the switch goes on";
				}}
			>
				Writes to the source have stopped
			</Action>
		</section>
	);
}
