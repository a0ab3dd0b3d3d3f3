import type { StreamStatus } from "../../../../shared/control/status.ts";
import type { ProjectEvent } from "../../../../shared/state/events.ts";
import { seg } from "../../api.ts";
import { StateBadge } from "../../ui/badges.tsx";
import { bytes, duration, num, rate, time } from "../../ui/format.ts";
import { LIVE_MS, useResource } from "../../ui/resource.ts";
import { Empty } from "../../ui/states.tsx";
import { LatencyChart, ThroughputCharts, useMetrics } from "./charts.tsx";
import { positionText } from "./diagnose.ts";
import type { TabProps } from "./tab.ts";

interface AlertSettingsView {
	effective: { alerts: Record<string, { enabled: boolean; thresholds: Record<string, number> }> };
}

interface StreamTabProps extends TabProps {
	stream?: StreamStatus;
	/** The metrics group of the stream: forward, reverse or sink. */
	group: "forward" | "reverse" | "sink";
	/** The delay alert whose threshold the latency chart draws. */
	alert: "oms_migration_delay" | "oms_sync_delay";
	what: string;
}

/** One replication stream: where it is, how far behind, how fast, its last error and the DDL it met. */
function StreamTab({ project, stream, group, alert, what }: StreamTabProps) {
	const metrics = useMetrics(project.id);
	const settings = useResource<AlertSettingsView>(`/projects/${seg(project.id)}/alerts/settings`);
	const events = useResource<ProjectEvent[]>(`/projects/${seg(project.id)}/events`, LIVE_MS);
	const rule = settings.data?.effective.alerts[alert];
	const threshold = rule?.enabled ? rule.thresholds.delaySeconds : undefined;
	if (!stream) return <Empty title={`${what} has not started yet`} />;
	const ddl = (events.data ?? []).filter(
		(e) =>
			(e.kind === "ddl-applied" || e.kind === "ddl-refused") &&
			(group === "reverse") === (e.subject ?? "").endsWith(".reverse"),
	);
	return (
		<>
			<dl class="facts stream-facts panel">
				<div>
					<dt>State</dt>
					<dd>
						<StateBadge state={stream.state} /> {stream.stateReason}
					</dd>
				</div>
				<div>
					<dt>Phase</dt>
					<dd>
						{stream.phase}
						{stream.phase === "safe" && <span class="muted"> (idempotent until the copy's end position)</span>}
					</dd>
				</div>
				<div>
					<dt>Latency</dt>
					<dd>
						{duration(stream.latencySeconds)}
						{threshold !== undefined && <span class="muted"> (alert above {duration(threshold)})</span>}
					</dd>
				</div>
				<div>
					<dt>Heartbeat</dt>
					<dd>
						{stream.heartbeatAgeSeconds === undefined ? "no report yet" : `${duration(stream.heartbeatAgeSeconds)} ago`}
					</dd>
				</div>
				<div>
					<dt>Throughput</dt>
					<dd>
						{rate(stream.rowsPerSecond)} · {bytes(stream.bytesPerSecond)}/s
					</dd>
				</div>
				<div>
					<dt>Applied</dt>
					<dd>
						{num(stream.transactions)} transactions, {num(stream.rows)} rows
						{stream.inconsistencies > 0 && `, ${num(stream.inconsistencies)} inconsistencies`}
					</dd>
				</div>
				<div class="wide">
					<dt>Position</dt>
					<dd>
						<code>{positionText(stream.position) ?? "–"}</code>
					</dd>
				</div>
				<div class="wide">
					<dt>Last error</dt>
					<dd>{stream.lastError ?? <span class="muted">none</span>}</dd>
				</div>
			</dl>
			<div class="grid chart-grid">
				<LatencyChart history={metrics.data} group={group} threshold={threshold} />
			</div>
			<ThroughputCharts history={metrics.data} group={group} what={what} />
			<section class="panel" aria-labelledby={`ddl-${group}`}>
				<h3 id={`ddl-${group}`}>DDL seen</h3>
				{ddl.length === 0 ? (
					<p class="muted">No DDL met so far.</p>
				) : (
					<ul class="ddl-list">
						{ddl.map((e) => {
							const at = time(e.at);
							return (
								<li key={`${e.at}${e.message}`}>
									<span title={at.title}>{at.text}</span>{" "}
									<StateBadge state={e.kind === "ddl-applied" ? "done" : "failed"} /> {e.message}
								</li>
							);
						})}
					</ul>
				)}
			</section>
		</>
	);
}

export const IncrementalTab = (p: TabProps) => (
	<StreamTab {...p} stream={p.status.incremental} group="forward" alert="oms_migration_delay" what="Forward replay" />
);
export const ReverseTab = (p: TabProps) => (
	<StreamTab {...p} stream={p.status.reverse} group="reverse" alert="oms_migration_delay" what="Reverse replay" />
);
export const SynchronizationTab = (p: TabProps) => (
	<StreamTab {...p} stream={p.status.incremental} group="sink" alert="oms_sync_delay" what="Synchronization" />
);
