import { useState } from "preact/hooks";
import type { DataSource } from "../../../shared/model/datasource.ts";
import type { Project } from "../../../shared/model/project.ts";
import { api, seg } from "../api.ts";
import { href, navigate } from "../router.ts";
import { can, notAllowed } from "../session.ts";
import { StateBadge } from "../ui/badges.tsx";
import { Action } from "../ui/controls.tsx";
import { time } from "../ui/format.ts";
import { useResource } from "../ui/resource.ts";
import { Empty, Loaded } from "../ui/states.tsx";
import type { ScreenProps } from "./index.ts";

/** Where a data source is reached: host:port for a database, its brokers or proxy for a queue. */
export function whereOf(ds: DataSource): string {
	if (ds.engine === "kafka") return ds.brokers.join(", ");
	if (ds.engine === "rocketmq") return ds.endpoint;
	return `${ds.host}:${ds.port}`;
}

/** Who logs in: a database user, a SASL user, a RocketMQ access key (none for an open broker). */
export function userOf(ds: DataSource): string | undefined {
	if (ds.engine === "kafka") return ds.sasl === "none" ? undefined : ds.user;
	if (ds.engine === "rocketmq") return ds.accessKey;
	return ds.user;
}

const usersOf = (projects: Project[], id: string) =>
	projects.filter((p) => p.sourceId === id || p.destinationId === id);

function UsedBy({ projects }: { projects: Project[] }) {
	if (projects.length === 0) return <span class="no">no project</span>;
	return (
		<ul class="plain-list">
			{projects.map((p) => (
				<li key={p.id}>
					<a href={href(`/projects/${p.id}`)}>{p.name}</a> <StateBadge state={p.state} />
				</li>
			))}
		</ul>
	);
}

/** A link that looks like a button, or a disabled button (with why) for a role that may not. */
export function ActionLink({ to, access, children }: { to: string; access: "operate" | "admin"; children: string }) {
	if (!can(access))
		return (
			<button type="button" disabled title={notAllowed(access)}>
				{children}
			</button>
		);
	return (
		<a class="button primary" href={href(to)}>
			{children}
		</a>
	);
}

export function DataSourcesScreen() {
	const sources = useResource<DataSource[]>("/datasources");
	const projects = useResource<Project[]>("/projects");
	return (
		<>
			<h1>Data sources</h1>
			<div class="toolbar">
				<span class="hint">Databases Ferry migrates from and to, and the message queues it synchronizes to.</span>
				<span class="spacer" />
				<ActionLink to="/datasources/new" access="admin">
					Add data source
				</ActionLink>
			</div>
			<Loaded r={sources} what="data sources">
				{(list) =>
					list.length === 0 ? (
						<Empty title="No data sources yet">
							<p>
								Add the source and destination databases first (Ferry tests each connection before saving it); then
								create a project that migrates between them.
							</p>
						</Empty>
					) : (
						<div class="table-wrap panel">
							<table class="named-rows">
								<caption class="visually-hidden">Data sources</caption>
								<thead>
									<tr>
										<th scope="col">Name</th>
										<th scope="col">Engine</th>
										<th scope="col">Host and port, brokers or endpoint</th>
										<th scope="col">User</th>
										<th scope="col">TLS</th>
										<th scope="col">Used by</th>
									</tr>
								</thead>
								<tbody>
									{list.map((ds) => (
										<tr key={ds.id}>
											<th scope="row">
												<a href={href(`/datasources/${ds.id}`)}>{ds.name}</a>
											</th>
											<td>{ds.engine}</td>
											<td>
												<code>{whereOf(ds)}</code>
											</td>
											<td>{userOf(ds) ?? <span class="no">none</span>}</td>
											<td>{ds.tls ? "yes" : "no"}</td>
											<td>
												{projects.data ? (
													<UsedBy projects={usersOf(projects.data, ds.id)} />
												) : (
													<span class="no">{projects.error ? "unknown" : "…"}</span>
												)}
											</td>
										</tr>
									))}
								</tbody>
							</table>
						</div>
					)
				}
			</Loaded>
		</>
	);
}

function CopyForm({ ds }: { ds: DataSource }) {
	const [name, setName] = useState(`${ds.name} copy`);
	return (
		<div class="inline-form">
			<label for="copy-name">Name of the copy</label>
			<input id="copy-name" value={name} onInput={(e) => setName(e.currentTarget.value)} disabled={!can("admin")} />
			<Action
				access="admin"
				disabled={name.trim() === ""}
				run={async () => {
					const copy = await api.post<DataSource>(`/datasources/${seg(ds.id)}/copy`, { name: name.trim() });
					navigate(`/datasources/${copy.id}`);
					return `Copied to '${copy.name}' (the password too, tested)`;
				}}
			>
				Copy
			</Action>
		</div>
	);
}

export function DataSourceScreen({ params }: ScreenProps) {
	const id = params.id ?? "";
	const source = useResource<DataSource>(`/datasources/${seg(id)}`);
	const projects = useResource<Project[]>("/projects");
	return (
		<>
			<h1>Data source {source.data?.name ?? id}</h1>
			<p>
				<a href={href("/datasources")}>All data sources</a>
			</p>
			<Loaded r={source} what="the data source">
				{(ds) => (
					<>
						<section class="panel">
							<h2>Connection</h2>
							<dl class="facts">
								<div>
									<dt>Engine</dt>
									<dd>{ds.engine}</dd>
								</div>
								<div>
									<dt>{ds.engine === "kafka" ? "Brokers" : ds.engine === "rocketmq" ? "Endpoint" : "Host and port"}</dt>
									<dd>
										<code>{whereOf(ds)}</code>
									</dd>
								</div>
								{ds.engine === "kafka" && (
									<div>
										<dt>SASL</dt>
										<dd>{ds.sasl}</dd>
									</div>
								)}
								<div>
									<dt>{ds.engine === "rocketmq" ? "Access key" : "User"}</dt>
									<dd>{userOf(ds) ?? "none"}</dd>
								</div>
								<div>
									<dt>{ds.engine === "rocketmq" ? "Secret key" : "Password"}</dt>
									<dd>kept in the secret store; never shown again</dd>
								</div>
								<div>
									<dt>TLS</dt>
									<dd>{ds.tls ? "yes" : "no"}</dd>
								</div>
								{ds.description && (
									<div>
										<dt>Description</dt>
										<dd>{ds.description}</dd>
									</div>
								)}
								<div>
									<dt>Created</dt>
									<dd title={time(ds.createdAt).title}>{time(ds.createdAt).text}</dd>
								</div>
								<div>
									<dt>Changed</dt>
									<dd title={time(ds.updatedAt).title}>{time(ds.updatedAt).text}</dd>
								</div>
								<div>
									<dt>Used by</dt>
									<dd>
										<Loaded r={projects} what="projects">
											{(list) => <UsedBy projects={usersOf(list, ds.id)} />}
										</Loaded>
									</dd>
								</div>
							</dl>
						</section>
						<section class="panel">
							<h2>Change</h2>
							<div class="toolbar">
								<ActionLink to={`/datasources/${ds.id}/edit`} access="admin">
									Edit
								</ActionLink>
								<Action
									access="admin"
									kind="danger"
									confirm={`Delete data source '${ds.name}'?`}
									run={async () => {
										await api.del(`/datasources/${seg(ds.id)}`);
										navigate("/datasources");
										return `Data source '${ds.name}' deleted`;
									}}
								>
									Delete
								</Action>
							</div>
							<p class="hint">A data source used by a running, paused or failed project cannot be deleted.</p>
							<CopyForm ds={ds} />
						</section>
					</>
				)}
			</Loaded>
		</>
	);
}
