import type { AlertDefinition, EffectiveSettings } from "../../../shared/alerts/catalogue.ts";
import type { Alert } from "../../../shared/alerts/history.ts";
import type { Components, OpenTicket } from "../../../shared/control/lists.ts";
import type { ProjectStatus } from "../../../shared/control/status.ts";
import type { Project, ProjectState } from "../../../shared/model/project.ts";
import { statusPath } from "../api.ts";
import { href } from "../router.ts";
import { StateBadge } from "../ui/badges.tsx";
import { duration, num, time } from "../ui/format.ts";
import { LIVE_MS, useEach, useResource } from "../ui/resource.ts";
import { Empty, Loaded } from "../ui/states.tsx";
import { AlertScope } from "./alerts.tsx";
import { ActionLink } from "./datasources.tsx";
import { FLEET_STATUS_LIMIT, Fleet, streamOf } from "./overview-fleet.tsx";

const STATES: ProjectState[] = ["running", "failed", "paused", "new", "completed", "released"];
const NEWEST_ALERTS = 8;
const FAILURE_ALERTS = new Set(["oms_migration_failed", "oms_sync_failed"]);

interface Attention {
	projectId: string;
	projectName: string;
	what: string;
	detail: string;
	tone: "bad" | "warn";
}

interface Inputs {
	projects: Project[];
	tickets: OpenTicket[];
	alerts: Alert[];
	components?: Components;
	statuses: Map<string, ProjectStatus>;
	thresholds?: EffectiveSettings;
}

/** Everything a person should look at, one line each, worst first. */
function needsAttention({ projects, tickets, alerts, components, statuses, thresholds }: Inputs): Attention[] {
	const items: Attention[] = [];
	const names = new Map(projects.map((p) => [p.id, p.name]));
	const nameOf = (id: string) => names.get(id) ?? id;
	for (const t of tickets)
		items.push({
			projectId: t.projectId,
			projectName: t.projectName,
			what: `step ${t.ticket.step} failed`,
			detail: t.ticket.message,
			tone: "bad",
		});
	const heartbeat = thresholds?.alerts.oms_host_down.thresholds.heartbeatSeconds;
	for (const task of components?.replicationTasks ?? []) {
		const stale = heartbeat !== undefined && (task.heartbeatAgeSeconds ?? 0) > heartbeat;
		if (task.state === "dead" || (task.state !== "stopped" && stale))
			items.push({
				projectId: task.projectId,
				projectName: task.projectName,
				what: `${task.stream} replication task ${task.state === "dead" ? "is dead" : "is stale"}`,
				detail: `no heartbeat for ${duration(task.heartbeatAgeSeconds)}${task.stateReason ? `: ${task.stateReason}` : ""}`,
				tone: "bad",
			});
	}
	for (const p of projects) {
		const stream = streamOf(statuses.get(statusPath(p.id)));
		const limit = thresholds?.alerts[p.sync ? "oms_sync_delay" : "oms_migration_delay"].thresholds.delaySeconds;
		if (stream?.latencySeconds !== undefined && limit !== undefined && stream.latencySeconds > limit)
			items.push({
				projectId: p.id,
				projectName: p.name,
				what: "latency over its threshold",
				detail: `${duration(stream.latencySeconds)} behind the source (threshold ${duration(limit)})`,
				tone: "warn",
			});
		const totals = p.verification?.totals;
		if (totals && totals.missing + totals.extra + totals.different + (totals.schema ?? 0) > 0)
			items.push({
				projectId: p.id,
				projectName: p.name,
				what: "verification found differences",
				detail: `${num(totals.missing)} missing, ${num(totals.extra)} extra, ${num(totals.different)} different rows in ${num(totals.tablesDiffering)} table(s)`,
				tone: "warn",
			});
	}
	// a failure's alert says what its ticket says: the ticket's line stands for both
	const ticketed = new Set(tickets.map((t) => t.projectId));
	const repeatsTicket = (a: Alert) => FAILURE_ALERTS.has(a.name) && ticketed.has(a.projectId);
	for (const a of alerts.filter((a) => a.state === "firing" && a.projectId !== "stack" && !repeatsTicket(a)))
		items.push({
			projectId: a.projectId,
			projectName: nameOf(a.projectId),
			what: `alert ${a.name} firing${a.acknowledged ? ` (acknowledged by ${a.acknowledged.by})` : ""}`,
			detail: a.message,
			tone: a.acknowledged ? "warn" : "bad",
		});
	return items.sort((a, b) => (a.tone === b.tone ? 0 : a.tone === "bad" ? -1 : 1));
}

function Counts({ projects }: { projects: Project[] }) {
	return (
		<ul class="cards" aria-label="Projects by state">
			{STATES.map((s) => (
				<li key={s} class="card">
					<a class="card-link" href={href(`/projects?state=${s}`)}>
						<span class="value">{num(projects.filter((p) => p.state === s).length)}</span>
						<span class="label">{s}</span>
					</a>
				</li>
			))}
		</ul>
	);
}

function AttentionList({ items }: { items: Attention[] }) {
	if (items.length === 0)
		return <p class="all-clear">Nothing needs attention: no failed steps, slow streams, dead tasks or differences.</p>;
	return (
		<ul class="attention">
			{items.map((i) => (
				<li key={`${i.projectId}-${i.what}`} class={`attention-${i.tone}`}>
					<span class={`badge badge-${i.tone}`}>{i.tone === "bad" ? "act" : "watch"}</span>{" "}
					<a href={href(`/projects/${i.projectId}`)}>{i.projectName}</a>: <strong>{i.what}</strong>
					<div class="hint attention-detail">{i.detail}</div>
				</li>
			))}
		</ul>
	);
}

function NewestAlerts({ alerts, projects }: { alerts: Alert[]; projects: Project[] }) {
	if (alerts.length === 0) return <p class="no">No alerts in the last 7 days.</p>;
	const names = new Map(projects.map((p) => [p.id, p.name]));
	return (
		<ul class="newest-alerts">
			{alerts.slice(0, NEWEST_ALERTS).map((a) => (
				<li key={a.id}>
					<StateBadge state={a.state} /> <code>{a.name}</code> · <AlertScope alert={a} names={names} />
					<div class="hint" title={time(a.firedAt).title}>
						{time(a.firedAt).text}: {a.message}
					</div>
				</li>
			))}
		</ul>
	);
}

function FreshInstall() {
	return (
		<Empty title="Welcome to Ferry: no projects yet">
			<ol class="start-steps">
				<li>
					Add the source and destination databases as <a href={href("/datasources")}>data sources</a> (each connection
					is tested before it is saved).
				</li>
				<li>
					Create a <a href={href("/projects")}>project</a> that migrates between them: schema, full copy, incremental
					replay, verification and switchover.
				</li>
				<li>Start it and watch it here.</li>
			</ol>
			<div class="toolbar center">
				<ActionLink to="/datasources/new" access="admin">
					Add a data source
				</ActionLink>
				<ActionLink to="/projects/new" access="operate">
					Create a project
				</ActionLink>
			</div>
		</Empty>
	);
}

/** The fleet at a glance: projects by state, what needs a person, the newest alerts, latency and throughput. */
export function OverviewScreen() {
	const projects = useResource<Project[]>("/projects", LIVE_MS);
	const tickets = useResource<OpenTicket[]>("/tickets", LIVE_MS);
	const alerts = useResource<{ alerts: Alert[] }>("/alerts?range=7d", LIVE_MS);
	const components = useResource<Components>("/components", LIVE_MS);
	const settings = useResource<{ catalogue: AlertDefinition[]; effective: EffectiveSettings }>("/alerts/settings");
	const running = (projects.data ?? []).filter((p) => p.state === "running");
	const statuses = useEach<ProjectStatus>(
		// streams and the copy's totals: no table
		running.slice(0, FLEET_STATUS_LIMIT).map((p) => statusPath(p.id)),
		LIVE_MS,
	);
	const threshold = settings.data?.effective.alerts.oms_migration_delay.thresholds.delaySeconds;
	return (
		<>
			<h1>Overview</h1>
			<Loaded r={projects} what="projects">
				{(list) =>
					list.length === 0 ? (
						<FreshInstall />
					) : (
						<>
							<Counts projects={list} />
							<div class="grid">
								<section class="panel">
									<h2>Needs attention</h2>
									<Loaded r={tickets} what="tickets">
										{(t) => (
											<AttentionList
												items={needsAttention({
													projects: list,
													tickets: t,
													alerts: alerts.data?.alerts ?? [],
													components: components.data,
													statuses,
													thresholds: settings.data?.effective,
												})}
											/>
										)}
									</Loaded>
								</section>
								<section class="panel">
									<h2>Newest alerts</h2>
									<Loaded r={alerts} what="alerts">
										{(a) => <NewestAlerts alerts={a.alerts} projects={list} />}
									</Loaded>
									<p>
										<a href={href("/alerts")}>All alerts</a>
									</p>
								</section>
							</div>
							<section class="panel">
								<h2>Running projects</h2>
								{running.length === 0 ? (
									<p class="no">No project is running now.</p>
								) : (
									<Fleet running={running} statuses={statuses} threshold={threshold} />
								)}
							</section>
						</>
					)
				}
			</Loaded>
		</>
	);
}
