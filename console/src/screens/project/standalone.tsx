import type { FunctionComponent } from "preact";
import type { ProjectStatus } from "../../../../shared/control/status.ts";
import type { Project } from "../../../../shared/model/project.ts";
import { seg, statusPath } from "../../api.ts";
import { href } from "../../router.ts";
import { StateBadge } from "../../ui/badges.tsx";
import { LIVE_MS, useResource } from "../../ui/resource.ts";
import { Loaded } from "../../ui/states.tsx";
import type { ScreenProps } from "../index.ts";
import { SwitchoverTab } from "./switchover.tsx";
import type { TabProps } from "./tab.ts";
import { VerificationTab } from "./verification.tsx";

/**
 * One tab of a project on a page of its own (`#/projects/p-1/verification`): a deep link a DBA
 * can keep open during a verification or a switchover. The project's page shows the same tab
 * among the others (`?tab=`).
 */
function standalone(title: string, Tab: FunctionComponent<TabProps>, tab: string): FunctionComponent<ScreenProps> {
	return function StandaloneTab({ params }: ScreenProps) {
		const id = params.id ?? "";
		const project = useResource<Project>(`/projects/${seg(id)}`);
		// the verification and switchover tabs need no table of the copy: the totals alone
		const status = useResource<ProjectStatus>(statusPath(id), LIVE_MS);
		const reload = () => {
			project.reload();
			status.reload();
		};
		return (
			<>
				<h1>
					{title}
					{project.data && <span class="title-of">: {project.data.name}</span>}
				</h1>
				<Loaded r={project} what="the project">
					{(p) => (
						<Loaded r={status} what="the project's status">
							{(s) => (
								<>
									<p class="toolbar">
										<StateBadge state={s.state} />
										<a href={href(`/projects/${seg(p.id)}?tab=${tab}`)}>All of the project</a>
									</p>
									<Tab project={p} status={s} reload={reload} />
								</>
							)}
						</Loaded>
					)}
				</Loaded>
			</>
		);
	};
}

export const VerificationScreen = standalone("Verification", VerificationTab, "verification");
export const SwitchoverScreen = standalone("Switchover", SwitchoverTab, "switchover");
