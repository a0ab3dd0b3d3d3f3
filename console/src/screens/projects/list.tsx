import { useState } from "preact/hooks";
import type { DataSource } from "../../../../shared/model/datasource.ts";
import type { Project, ProjectState } from "../../../../shared/model/project.ts";
import { href, setQuery } from "../../router.ts";
import { can, notAllowed } from "../../session.ts";
import { StateBadge, StepStrip } from "../../ui/badges.tsx";
import { ago, duration, rate, time } from "../../ui/format.ts";
import { LIVE_MS, useResource } from "../../ui/resource.ts";
import { Empty, Loaded } from "../../ui/states.tsx";
import type { ScreenProps } from "../index.ts";
import { BatchBar } from "./batch.tsx";
import { CloneControl } from "./clone.tsx";
import { LIVE_LIMIT, type LiveStream, useLiveStreams } from "./live.ts";

const STATES: ProjectState[] = ["new", "running", "paused", "failed", "completed", "released"];
const kind = (p: Project) => (p.sync ? "synchronization" : "migration");

interface Filters {
	tag: string;
	state: string;
	type: string;
	q: string;
}

function matches(p: Project, f: Filters): boolean {
	const text = f.q.trim().toLowerCase();
	return (
		(!f.tag || p.tags.includes(f.tag)) &&
		(!f.state || p.state === f.state) &&
		(!f.type || kind(p) === f.type) &&
		(!text || p.name.toLowerCase().includes(text) || p.id.includes(text))
	);
}

/** Every project with its steps and live stream; filters live in the address (shareable), selection drives batch actions. */
export function ProjectsScreen({ query }: ScreenProps) {
	const projects = useResource<Project[]>("/projects", LIVE_MS);
	const sources = useResource<DataSource[]>("/datasources");
	const f: Filters = {
		tag: query.get("tag") ?? "",
		state: query.get("state") ?? "",
		type: query.get("type") ?? "",
		q: query.get("q") ?? "",
	};
	return (
		<>
			<h1>Projects</h1>
			<div class="toolbar">
				<span class="spacer" />
				{can("operate") ? (
					<a class="button primary" href={href("/projects/new")}>
						Create project
					</a>
				) : (
					<button type="button" class="primary" disabled title={notAllowed("operate")}>
						Create project
					</button>
				)}
			</div>
			<Loaded r={projects} what="projects">
				{(list) => (
					<ProjectTable
						all={list}
						filters={f}
						names={new Map((sources.data ?? []).map((d) => [d.id, d.name]))}
						reload={projects.reload}
					/>
				)}
			</Loaded>
		</>
	);
}

function FilterBar({ all, f }: { all: Project[]; f: Filters }) {
	const tags = [...new Set(all.flatMap((p) => p.tags))].sort();
	return (
		<search class="filters form-row" aria-label="Filter projects">
			<div>
				<label for="f-q">Name or id</label>
				<input id="f-q" type="search" value={f.q} onInput={(e) => setQuery({ q: e.currentTarget.value })} />
			</div>
			<div>
				<label for="f-state">State</label>
				<select id="f-state" value={f.state} onChange={(e) => setQuery({ state: e.currentTarget.value })}>
					<option value="">any</option>
					{STATES.map((s) => (
						<option key={s}>{s}</option>
					))}
				</select>
			</div>
			<div>
				<label for="f-type">Type</label>
				<select id="f-type" value={f.type} onChange={(e) => setQuery({ type: e.currentTarget.value })}>
					<option value="">any</option>
					<option>migration</option>
					<option>synchronization</option>
				</select>
			</div>
			<div>
				<label for="f-tag">Tag</label>
				<select id="f-tag" value={f.tag} onChange={(e) => setQuery({ tag: e.currentTarget.value })}>
					<option value="">any</option>
					{tags.map((t) => (
						<option key={t}>{t}</option>
					))}
				</select>
			</div>
		</search>
	);
}

function ProjectTable({
	all,
	filters,
	names,
	reload,
}: {
	all: Project[];
	filters: Filters;
	names: Map<string, string>;
	reload: () => void;
}) {
	const [picked, setPicked] = useState(new Set<string>());
	const shown = all.filter((p) => matches(p, filters)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
	const running = shown.filter((p) => p.state === "running").map((p) => p.id);
	const live = useLiveStreams(running);
	if (all.length === 0)
		return (
			<Empty title="No projects yet">
				<p>
					A project moves the tables you choose from a source data source to a destination, then keeps them in step.
				</p>
				{can("operate") && <a href={href("/projects/new")}>Create the first project</a>}
			</Empty>
		);
	const selected = shown.filter((p) => picked.has(p.id));
	const toggle = (id: string, on: boolean) => {
		const next = new Set(picked);
		if (on) next.add(id);
		else next.delete(id);
		setPicked(next);
	};
	const allPicked = shown.length > 0 && selected.length === shown.length;
	return (
		<>
			<FilterBar all={all} f={filters} />
			<BatchBar selected={selected} reload={reload} />
			{shown.length === 0 ? (
				<Empty title="No project matches these filters">
					<button type="button" onClick={() => setQuery({ tag: "", state: "", type: "", q: "" })}>
						Clear the filters
					</button>
				</Empty>
			) : (
				<div class="table-wrap">
					<table class="projects">
						<caption class="visually-hidden">
							Projects, newest first ({shown.length} of {all.length})
						</caption>
						<thead>
							<tr>
								<th scope="col">
									<input
										type="checkbox"
										aria-label="Select every project shown"
										checked={allPicked}
										onChange={(e) => setPicked(new Set(e.currentTarget.checked ? shown.map((p) => p.id) : []))}
									/>
								</th>
								<th scope="col">Name</th>
								<th scope="col">Type: source → destination</th>
								<th scope="col">Tags</th>
								<th scope="col">Steps</th>
								<th scope="col">State</th>
								<th scope="col" class="num">
									Latency
								</th>
								<th scope="col" class="num">
									Rows/s
								</th>
								<th scope="col">Created</th>
								<th scope="col">
									<span class="visually-hidden">Clone</span>
								</th>
							</tr>
						</thead>
						<tbody>
							{shown.map((p) => (
								<Row
									key={p.id}
									p={p}
									names={names}
									live={live.get(p.id)}
									polled={running.indexOf(p.id) < LIVE_LIMIT}
									picked={picked.has(p.id)}
									toggle={toggle}
								/>
							))}
						</tbody>
					</table>
				</div>
			)}
		</>
	);
}

function Row({
	p,
	names,
	live,
	polled,
	picked,
	toggle,
}: {
	p: Project;
	names: Map<string, string>;
	live?: LiveStream;
	polled: boolean;
	picked: boolean;
	toggle: (id: string, on: boolean) => void;
}) {
	const created = time(p.createdAt);
	const notLive =
		p.state === "running" && !polled ? "not polled: too many running projects shown; filter to see it" : "";
	return (
		<tr class={picked ? "selected" : undefined}>
			<td>
				<input
					type="checkbox"
					aria-label={`Select ${p.name}`}
					checked={picked}
					onChange={(e) => toggle(p.id, e.currentTarget.checked)}
				/>
			</td>
			<td>
				<a href={href(`/projects/${encodeURIComponent(p.id)}`)}>{p.name}</a>
				<div class="hint">{p.id}</div>
			</td>
			<td>
				{kind(p)}
				<div class="hint">
					{names.get(p.sourceId) ?? p.sourceId} → {names.get(p.destinationId) ?? p.destinationId}
				</div>
			</td>
			<td>
				{p.tags.map((t) => (
					<span key={t} class="tag">
						{t}
					</span>
				))}
			</td>
			<td class="steps-cell">
				<StepStrip steps={p.steps} />
			</td>
			<td>
				<StateBadge state={p.state} />
			</td>
			<td class="num" title={notLive}>
				{live?.latencySeconds === undefined ? "–" : duration(live.latencySeconds)}
			</td>
			<td class="num" title={notLive}>
				{live ? rate(live.rowsPerSecond) : "–"}
			</td>
			<td class="when">
				<span title={`${created.text} (${created.title})`}>{ago(p.createdAt)}</span>
			</td>
			<td>
				<CloneControl project={p} />
			</td>
		</tr>
	);
}
