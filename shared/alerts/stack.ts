import { sqsClient } from "../aws/clients.ts";
import { WorkQueue } from "../aws/work-queue.ts";
import type { Context } from "../context.ts";
import { logger } from "../observability.ts";
import { effectiveSettings } from "./catalogue.ts";
import { conditionKey, DEAD_LETTERS_SUBJECT, deadLetterConditions } from "./evaluate.ts";
import { getScopeState, STACK_SCOPE, saveScopeState } from "./history.ts";
import { channelsFor } from "./notify.ts";
import { getAlertDefaults } from "./settings.ts";
import { applyConditions } from "./tick.ts";

/**
 * The stack's own alerts, from the scheduler's tick: the chunk dead-letter queues' depth where
 * the environment names them (local mode; in AWS the ferry_chunk_stuck alarm watches them), and
 * the webhook notifications of the stack's alerts that are due again. SNS is left out: in AWS
 * CloudWatch's alarms publish the stack's alerts themselves.
 */
export async function evaluateStackAlerts(ctx: Context, now = Date.now()): Promise<void> {
	try {
		const queues = deadLetterQueuesFromEnv();
		const { state, version } = await getScopeState(ctx, STACK_SCOPE);
		const due = queues.length > 0 && (state.nextAt ?? 0) <= now;
		if (!due && !state.outbox.some((e) => e.nextAt <= now)) return;
		const settings = effectiveSettings(await getAlertDefaults(ctx));
		const conditions = due ? deadLetterConditions(await depthOf(queues), settings) : [];
		const key = conditionKey({ name: "ferry_chunk_stuck", subject: DEAD_LETTERS_SUBJECT });
		const channels = { ...(await channelsFor(ctx)), sns: undefined };
		const next = await applyConditions(ctx, STACK_SCOPE, state, conditions, channels, now, {
			// CloudWatch's alarms in the same scope resolve only by their own OK
			resolveOnly: due ? [key] : [],
		});
		const nextAt = due ? now + settings.evaluationSeconds * 1000 : state.nextAt;
		await saveScopeState(ctx, STACK_SCOPE, { ...next, nextAt }, version);
	} catch (err) {
		logger.warn("could not evaluate the stack's alerts", { error: (err as Error).message });
	}
}

/** Set by `ferry local` (shared/local/stack.ts): the copy and verify queues' dead-letter queues. */
function deadLetterQueuesFromEnv(): string[] {
	return (process.env.FERRY_DEAD_LETTER_QUEUE_URLS ?? "").split(",").filter((u) => u.length > 0);
}

async function depthOf(urls: string[]): Promise<number> {
	const sqs = sqsClient(process.env.AWS_REGION ?? "us-east-1", process.env.FERRY_SQS_ENDPOINT);
	const depths = await Promise.all(urls.map((url) => new WorkQueue(sqs, url).depth()));
	return depths.reduce((sum, d) => sum + d.visible + d.inFlight, 0);
}
