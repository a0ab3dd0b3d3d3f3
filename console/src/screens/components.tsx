import { useRef } from "preact/hooks";
import type { Components, ReplicationTask } from "../../../shared/control/lists.ts";
import { href } from "../router.ts";
import { StateBadge } from "../ui/badges.tsx";
import { TimeChart } from "../ui/chart.tsx";
import { duration, num } from "../ui/format.ts";
import { LIVE_MS, type Resource, useResource } from "../ui/resource.ts";
import { Empty, Loaded } from "../ui/states.tsx";

/** A binlog position as a DBA reads it: file:pos, and the GTID set when there is one. */
function Position({ p }: { p: ReplicationTask["position"] }) {
	if (!p) return <span class="no">not yet</span>;
	return (
		<>
			<code>
				{p.file}:{p.pos}
			</code>
			{p.tso && <div class="hint">TSO {p.tso}</div>}
			{p.gtid && (
				<div class="hint gtid" title={p.gtid}>
					GTID {p.gtid}
				</div>
			)}
		</>
	);
}

function Tasks({ tasks }: { tasks: ReplicationTask[] }) {
	if (tasks.length === 0)
		return (
			<Empty title="No replication tasks">
				<p>A task starts when a project's incremental step (or a synchronization) begins replaying changes.</p>
			</Empty>
		);
	return (
		<div class="table-wrap">
			<table class="named-rows">
				<caption class="visually-hidden">Replication tasks</caption>
				<thead>
					<tr>
						<th scope="col">Project</th>
						<th scope="col">Stream</th>
						<th scope="col">State</th>
						<th scope="col" class="num">
							Heartbeat age
						</th>
						<th scope="col" class="num">
							Latency
						</th>
						<th scope="col">Session</th>
						<th scope="col">Position</th>
						<th scope="col">Last error</th>
					</tr>
				</thead>
				<tbody>
					{tasks.map((t) => (
						<tr key={t.replicationId}>
							<th scope="row">
								<a href={href(`/projects/${t.projectId}`)}>{t.projectName}</a>
								<div class="hint" title="the task holding the stream's lease">
									{t.owner}
								</div>
							</th>
							<td>{t.stream}</td>
							<td>
								<StateBadge state={t.state} />
								{t.stateReason && <div class="hint">{t.stateReason}</div>}
							</td>
							<td class="num">{duration(t.heartbeatAgeSeconds)}</td>
							<td class="num">{duration(t.latencySeconds)}</td>
							<td>
								{t.session ?? "–"} <span class="hint">({t.phase} mode)</span>
							</td>
							<td class="position">
								<Position p={t.position} />
							</td>
							<td class="error-text">{t.lastError ?? <span class="no">none</span>}</td>
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}

const QUEUE_COLOURS: Record<string, string> = { copy: "#1849a9", verify: "#067647" };
const KEPT_SAMPLES = 200;

/** The depth of each queue, sampled while this page is open (the API gives only the current depth). */
function useQueueHistory(r: Resource<Components>) {
	const samples = useRef<{ at: number; depth: Record<string, number> }[]>([]);
	const last = useRef<Components | undefined>(undefined);
	if (r.data && r.data !== last.current) {
		last.current = r.data;
		const depth = Object.fromEntries(r.data.queues.map((q) => [q.name, q.visible + q.inFlight]));
		samples.current = [...samples.current, { at: Math.floor(Date.now() / 1000), depth }].slice(-KEPT_SAMPLES);
	}
	return samples.current;
}

function Queues({ data, history }: { data: Components; history: ReturnType<typeof useQueueHistory> }) {
	return (
		<div class="grid">
			<div class="table-wrap">
				<table class="named-rows">
					<caption class="visually-hidden">Chunk queues</caption>
					<thead>
						<tr>
							<th scope="col">Queue</th>
							<th scope="col" class="num">
								Waiting
							</th>
							<th scope="col" class="num">
								In flight
							</th>
							<th scope="col" class="num">
								Dead letters
							</th>
						</tr>
					</thead>
					<tbody>
						{data.queues.map((q) => (
							<tr key={q.name}>
								<th scope="row">{q.name} chunks</th>
								<td class="num">{num(q.visible)}</td>
								<td class="num">{num(q.inFlight)}</td>
								<td class="num">
									{q.deadLetters > 0 ? <strong class="bad-text">{num(q.deadLetters)}</strong> : num(q.deadLetters)}
								</td>
							</tr>
						))}
					</tbody>
				</table>
				<p class="hint">
					A dead letter is a chunk that failed too often: its project shows it, and the alert ferry_chunk_stuck fires.
				</p>
			</div>
			<TimeChart
				title="Queue depth (waiting + in flight) since this page opened"
				x={history.map((s) => s.at)}
				series={data.queues.map((q) => ({
					label: q.name,
					color: QUEUE_COLOURS[q.name] ?? "#344054",
					values: history.map((s) => s.depth[q.name] ?? null),
				}))}
				format={(v) => num(v)}
				height={160}
			/>
		</div>
	);
}

/** What runs Ferry's work: replication tasks and the chunk workers' queues. */
export function ComponentsScreen() {
	const components = useResource<Components>("/components", LIVE_MS);
	const history = useQueueHistory(components);
	return (
		<>
			<h1>Components</h1>
			<Loaded r={components} what="components">
				{(data) => (
					<>
						<section class="panel">
							<h2>Replication tasks</h2>
							<Tasks tasks={data.replicationTasks} />
						</section>
						<section class="panel">
							<h2>Chunk queues</h2>
							<Queues data={data} history={history} />
						</section>
					</>
				)}
			</Loaded>
		</>
	);
}
