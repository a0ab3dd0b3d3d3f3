import { z } from "zod";
import { Role } from "../model/actor.ts";
import type { listEvents, ProjectEvent } from "../state/events.ts";
import { exactly, type Returns, Time } from "./responses-base.ts";

/** The timelines' answers (routes-events.ts): events as state/events.ts records them. */

export const EventView = exactly<ProjectEvent>()(
	z.object({
		at: Time,
		kind: z.enum([
			"step-started",
			"step-done",
			"step-failed",
			"ticket-opened",
			"ticket-resolved",
			"action",
			"settings-changed",
			"ddl-applied",
			"ddl-refused",
			"task-started",
			"task-died",
			"alert-fired",
			"alert-resolved",
			"alert-acknowledged",
		]),
		message: z.string(),
		actor: z.object({ name: z.string(), role: z.enum([...Role.options, "system"]) }),
		subject: z.string().optional(),
		/** Whatever the kind of event keeps (a changed setting's old and new value, a DDL statement). */
		details: z.record(z.string(), z.unknown()).optional(),
	}),
);

const Timeline = exactly<Returns<typeof listEvents>>()(z.array(EventView));

export const EVENT_RESPONSES: Record<string, z.ZodType> = {
	listProjectEvents: Timeline,
	listGlobalEvents: Timeline,
};
