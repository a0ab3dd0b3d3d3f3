import type { ProjectStatus } from "../../../../shared/control/status.ts";
import type { Project } from "../../../../shared/model/project.ts";

/**
 * What every tab of a project's page gets: the project's settings and its live status (polled by
 * the page), and a way to ask for both again after an action.
 */
export interface TabProps {
	project: Project;
	status: ProjectStatus;
	reload(): void;
}
