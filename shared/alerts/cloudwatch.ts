import { z } from "zod";
import type { Context } from "../context.ts";
import { logger } from "../observability.ts";
import { AlertName } from "./catalogue.ts";
import { conditionKey } from "./evaluate.ts";
import { getScopeState, STACK_SCOPE, saveScopeState } from "./history.ts";
import { channelsFor } from "./notify.ts";
import { applyConditions } from "./tick.ts";

/*
 * In AWS, CloudWatch's alarms (cdk/alert-alarms.ts, named `<stack>-<alert name>`) feed the same history:
 * an EventBridge rule sends their state changes to the scheduler function, which records ALARM as
 * firing and OK as resolved, in the stack's scope (the alarms watch the whole stack). SNS already
 * has them (the alarms' own actions), so only the webhook is notified from here.
 */

/** EventBridge's "CloudWatch Alarm State Change" event, the parts read here. */
export const AlarmStateChange = z.object({
	"detail-type": z.literal("CloudWatch Alarm State Change"),
	time: z.string().optional(),
	detail: z.object({
		alarmName: z.string(),
		state: z.object({ value: z.string(), reason: z.string().optional() }),
	}),
});
export type AlarmStateChange = z.infer<typeof AlarmStateChange>;

/** The catalogue name an alarm carries after its stack's prefix, if any. */
export function alertNameOfAlarm(alarmName: string): AlertName | undefined {
	const name = AlertName.options.find((n) => alarmName.endsWith(`-${n}`));
	return name;
}

export async function recordAlarmChange(ctx: Context, event: AlarmStateChange, now = Date.now()): Promise<void> {
	const name = alertNameOfAlarm(event.detail.alarmName);
	const value = event.detail.state.value;
	if (!name || (value !== "ALARM" && value !== "OK")) return;
	const condition = {
		name,
		subject: event.detail.alarmName,
		message: `CloudWatch alarm ${event.detail.alarmName}: ${event.detail.state.reason ?? value}`,
	};
	const channels = { ...(await channelsFor(ctx)), sns: undefined };
	for (let attempt = 0; attempt < 5; attempt++) {
		const { state, version } = await getScopeState(ctx, STACK_SCOPE);
		const next = await applyConditions(ctx, STACK_SCOPE, state, value === "ALARM" ? [condition] : [], channels, now, {
			source: "cloudwatch",
			resolveOnly: [conditionKey(condition)],
		});
		if ((await saveScopeState(ctx, STACK_SCOPE, next, version)) !== undefined) return;
	}
	logger.warn("could not record a CloudWatch alarm's change after 5 attempts", { alarm: event.detail.alarmName });
}
