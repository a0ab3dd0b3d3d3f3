import { useRef } from "preact/hooks";
import type { ProjectStatus } from "../../../../shared/control/status.ts";
import type { DataSource } from "../../../../shared/model/datasource.ts";
import type { Project } from "../../../../shared/model/project.ts";
import { api, seg, statusPath } from "../../api.ts";
import { href, navigate, setQuery } from "../../router.ts";
import { can } from "../../session.ts";
import { StateBadge } from "../../ui/badges.tsx";
import { Action } from "../../ui/controls.tsx";
import { LIVE_MS, useResource } from "../../ui/resource.ts";
import { Failure, Loaded, Loading } from "../../ui/states.tsx";
import type { ScreenProps } from "../index.ts";
import { StepTimeline } from "./steps.tsx";
import { tablesPageOf } from "./tables-page.ts";
import { tabsFor } from "./tabs.ts";
import { WhyStopped } from "./why-stopped.tsx";

/** Which project actions each state allows: shared/control/projects.ts TRANSITIONS. */
const ACTIONS: { action: string; label: string; from: Project["state"][]; confirm?: string }[] = [
	{ action: "start", label: "Start", from: ["new"] },
	{ action: "pause", label: "Pause", from: ["running"] },
	{ action: "resume", label: "Resume", from: ["paused"] },
	{
		action: "release",
		label: "Release",
		from: ["new", "paused", "failed", "completed"],
		confirm: "Release it? Its replication stops for good.",
	},
];

/** A project's page: header with its actions, what stops it, its steps, then the tabs. */
export function ProjectScreen({ params, query }: ScreenProps) {
	const id = params.id ?? "";
	const project = useResource<Project>(`/projects/${seg(id)}`, LIVE_MS);
	// one page of the tables (the Full tab's pager moves it): the poll costs the same whatever the project's tables
	const status = useResource<ProjectStatus>(statusPath(id, tablesPageOf(query)), LIVE_MS);
	// another page keeps the last one on screen until it comes, rather than the whole page loading again
	const last = useRef<ProjectStatus | undefined>(undefined);
	if (status.data) last.current = status.data;
	const reload = () => {
		project.reload();
		status.reload();
	};
	const p = project.data;
	const s = status.data ?? (last.current?.id === id ? last.current : undefined);
	return (
		<>
			<h1>{p ? `Project ${p.name}` : "Project"}</h1>
			{!p || !s ? (
				project.error || status.error ? (
					<Failure error={(project.error ?? status.error) as Error} retry={reload} what="the project" />
				) : (
					<Loading what="the project" />
				)
			) : (
				<Loaded r={{ ...status, data: s }} what="the project's status">
					{() => <ProjectPage project={p} status={s} reload={reload} tab={query.get("tab") ?? "overview"} />}
				</Loaded>
			)}
		</>
	);
}

function ProjectPage({
	project,
	status,
	reload,
	tab,
}: {
	project: Project;
	status: ProjectStatus;
	reload(): void;
	tab: string;
}) {
	const tabs = tabsFor(project, status);
	const current = tabs.find((t) => t.id === tab) ?? tabs[0];
	return (
		<>
			<Header project={project} status={status} reload={reload} />
			<WhyStopped project={project} status={status} reload={reload} />
			<StepTimeline steps={status.steps} />
			<div class="tabs" role="tablist" aria-label="Project sections">
				{tabs.map((t) => (
					<a
						key={t.id}
						id={`tab-${t.id}`}
						role="tab"
						href={href(`/projects/${project.id}?tab=${t.id}`)}
						aria-selected={t.id === current?.id}
						aria-controls={t.id === current?.id ? "tab-panel" : undefined}
						onClick={(e) => {
							e.preventDefault();
							setQuery({ tab: t.id });
						}}
					>
						{t.label}
					</a>
				))}
			</div>
			{current && (
				<section id="tab-panel" role="tabpanel" aria-labelledby={`tab-${current.id}`} class="tab-body">
					<h2 class="visually-hidden">{current.label}</h2>
					<current.component key={project.id} project={project} status={status} reload={reload} />
				</section>
			)}
		</>
	);
}

function Header({ project, status, reload }: { project: Project; status: ProjectStatus; reload(): void }) {
	const sources = useResource<DataSource[]>("/datasources");
	const name = (id: string) => sources.data?.find((d) => d.id === id)?.name ?? id;
	const kind = project.sync ? "synchronization" : project.options.twoWay ? "two-way sync" : "migration";
	return (
		<section class="panel project-head" aria-label="Project summary">
			<div class="project-facts">
				<StateBadge state={status.state} />
				<span>{kind}</span>
				<span>
					{name(project.sourceId)} → {name(project.destinationId)}
				</span>
				<span class="muted">{project.types.join(", ")}</span>
				{project.tags.map((t) => (
					<span key={t} class="tag">
						{t}
					</span>
				))}
			</div>
			<div class="toolbar">
				{ACTIONS.map((a) => (
					<Action
						key={a.action}
						access="operate"
						kind={
							(a.action === "start" || a.action === "resume") && a.from.includes(status.state) ? "primary" : "plain"
						}
						disabled={!a.from.includes(status.state)}
						title={a.from.includes(status.state) ? undefined : `not while the project is ${status.state}`}
						confirm={a.confirm}
						run={async () => {
							await api.post(`/projects/${seg(project.id)}/actions/${a.action}`);
							reload();
							return `${a.label}: done for ${project.name}`;
						}}
					>
						{a.label}
					</Action>
				))}
				<Action
					access="operate"
					run={async () => {
						const copy = await api.post<Project>(`/projects/${seg(project.id)}/clone`, {
							name: `${project.name} (copy)`.slice(0, 128),
						});
						navigate(`/projects/${copy.id}`);
						return `Cloned as ${copy.name}`;
					}}
				>
					Clone
				</Action>
				<Action
					access="admin"
					kind={status.state === "running" || status.state === "paused" || !can("admin") ? "plain" : "danger"}
					disabled={status.state === "running" || status.state === "paused"}
					title={
						status.state === "running" || status.state === "paused"
							? "release the project before deleting it"
							: undefined
					}
					confirm={`Delete ${project.name} and its history?`}
					run={async () => {
						await api.del(`/projects/${seg(project.id)}`);
						navigate("/projects");
						return `Deleted ${project.name}`;
					}}
				>
					Delete
				</Action>
			</div>
		</section>
	);
}
