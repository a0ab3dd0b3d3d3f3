import type { OperationAccess } from "../../../shared/api/access.ts";
import { me, type Role } from "../session.ts";
import { useResource } from "../ui/resource.ts";
import { Loaded } from "../ui/states.tsx";

const ROLES: Role[] = ["viewer", "operator", "admin"];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

const WHAT: Record<Role, string> = {
	viewer: "reads everything: projects, progress, verification results and differences, alerts, the timeline",
	operator:
		"also runs projects: creates, starts, pauses and releases them, decides tickets, verifies, corrects, switches over",
	admin: "also manages data sources, alert defaults and the webhook, and deletes projects",
};

/**
 * Who may do what. Ferry's roles are OMS's: in AWS a Cognito user's group (admin, operator,
 * viewer) or the IAM principal's mapping decides; locally, which of the three tokens was used.
 */
export function UsersScreen() {
	const ops = useResource<OperationAccess[]>("/roles");
	return (
		<>
			<h1>Users and roles</h1>
			<section class="panel">
				<h2>You</h2>
				<p>
					Signed in as <strong>{me.value?.name}</strong> with the <strong>{me.value?.role}</strong> role. Controls your
					role may not use stay visible but disabled.
				</p>
				<dl class="facts">
					{ROLES.map((r) => (
						<div key={r}>
							<dt>{r}</dt>
							<dd>{WHAT[r]}</dd>
						</div>
					))}
				</dl>
				<h3>Giving someone access</h3>
				<ul>
					<li>
						On one machine, <code>ferry local up</code> keeps one token per role in <code>~/.ferry/secrets/</code>:{" "}
						<code>api-token</code> (admin), <code>api-token-operator</code>, <code>api-token-viewer</code>. Give a
						person the file of their role; delete the files and restart to change them all.
					</li>
					<li>
						In AWS, add the user to the Cognito user pool the stack outputs (<code>ConsoleUserPoolId</code>) and to one
						of its groups <code>admin</code>, <code>operator</code> or <code>viewer</code>; a user in no group is
						refused. The CLI's IAM principals get their role from the stack's <code>iamRoles</code> setting.
					</li>
				</ul>
			</section>
			<section class="panel">
				<h2>What each role may call</h2>
				<Loaded r={ops} what="the role table">
					{(list) => (
						<div class="table-wrap">
							<table>
								<caption class="visually-hidden">API operations and the roles that may call them</caption>
								<thead>
									<tr>
										<th scope="col">Operation</th>
										<th scope="col">Request</th>
										{ROLES.map((r) => (
											<th scope="col" key={r}>
												{r}
											</th>
										))}
									</tr>
								</thead>
								<tbody>
									{list.map((o) => (
										<tr key={o.operationId}>
											<td>{o.summary}</td>
											<td>
												<code>
													{o.method} {o.path}
												</code>
											</td>
											{ROLES.map((r) => (
												<td key={r} class="center">
													{RANK[r] >= RANK[o.role] ? <span class="yes">yes</span> : <span class="no">no</span>}
												</td>
											))}
										</tr>
									))}
								</tbody>
							</table>
						</div>
					)}
				</Loaded>
			</section>
		</>
	);
}
