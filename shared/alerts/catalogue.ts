import { z } from "zod";

/*
 * The alert catalogue: OMS's alert names (its alert centre's events) and Ferry's own two, each
 * with what it watches and its thresholds. The same names are the CloudWatch alarms' in AWS
 * (`<stack>-<alert name>`, cdk/alert-alarms.ts), so one history holds both.
 */

export const ALERT_NAMES = [
	"oms_migration_failed",
	"oms_migration_delay",
	"oms_sync_failed",
	"oms_sync_delay",
	"oms_sync_status_inconsistent",
	"oms_host_down",
	"oms_host_threshold",
	"ferry_verification_inconsistent",
	"ferry_chunk_stuck",
] as const;
export const AlertName = z.enum(ALERT_NAMES);
export type AlertName = z.infer<typeof AlertName>;

export interface ThresholdDefinition {
	unit: "seconds" | "percent" | "messages";
	default: number;
	/** What crossing it means, for the settings page. */
	meaning: string;
}

export interface AlertDefinition {
	name: AlertName;
	/** What it watches, one line. */
	watches: string;
	/** Named thresholds (most alerts have one, some none, the host threshold two). */
	thresholds: Record<string, ThresholdDefinition>;
}

const delay = (what: string): Record<string, ThresholdDefinition> => ({
	delaySeconds: { unit: "seconds", default: 60, meaning: `${what} is further behind its source than this` },
});

export const CATALOGUE: Record<AlertName, AlertDefinition> = {
	oms_migration_failed: {
		name: "oms_migration_failed",
		watches: "a migration project stopped with a ticket (a step failed; retry or skip it)",
		thresholds: {},
	},
	oms_migration_delay: {
		name: "oms_migration_delay",
		watches: "replay latency of a migration's forward or reverse stream",
		thresholds: delay("replay"),
	},
	oms_sync_failed: {
		name: "oms_sync_failed",
		watches: "a synchronization project (to Kafka or RocketMQ) stopped with a ticket",
		thresholds: {},
	},
	oms_sync_delay: {
		name: "oms_sync_delay",
		watches: "latency of a synchronization's stream to its broker",
		thresholds: delay("the synchronization"),
	},
	oms_sync_status_inconsistent: {
		name: "oms_sync_status_inconsistent",
		watches:
			"a replication task still reports though its project no longer wants it (paused, released, ended at the switchover)",
		thresholds: {
			graceSeconds: { unit: "seconds", default: 60, meaning: "the task has kept reporting this long after" },
		},
	},
	oms_host_down: {
		name: "oms_host_down",
		watches: "a wanted replication task stopped reporting (killed, hung, or not restarted)",
		thresholds: {
			heartbeatSeconds: { unit: "seconds", default: 60, meaning: "no heartbeat for this long" },
		},
	},
	oms_host_threshold: {
		name: "oms_host_threshold",
		watches: "a replication task's memory or CPU use",
		thresholds: {
			memoryPercent: { unit: "percent", default: 90, meaning: "resident memory over this share of the task's limit" },
			cpuPercent: { unit: "percent", default: 90, meaning: "CPU time over this share of one core" },
		},
	},
	ferry_verification_inconsistent: {
		name: "ferry_verification_inconsistent",
		watches: "the last verification run found differences (rows missing, extra or different, or in the tables)",
		thresholds: {},
	},
	ferry_chunk_stuck: {
		name: "ferry_chunk_stuck",
		watches: "a copy or verification chunk past its retry budget, or messages in a chunk dead-letter queue",
		thresholds: {
			deadLetters: { unit: "messages", default: 1, meaning: "the dead-letter queues hold at least this many" },
		},
	},
};

/** Alert settings as stored: the defaults item, or a project's overrides (absent fields fall back). */
export const AlertRuleSettings = z
	.object({
		enabled: z.boolean().optional(),
		thresholds: z.record(z.string(), z.number().min(0).max(1e9)).optional(),
	})
	.strict();
export type AlertRuleSettings = z.infer<typeof AlertRuleSettings>;

export const AlertSettings = z
	.object({
		/** How often the scheduler evaluates a project's alerts. */
		evaluationSeconds: z.number().int().min(1).max(3600).optional(),
		alerts: z.partialRecord(AlertName, AlertRuleSettings).optional(),
	})
	.strict();
export type AlertSettings = z.infer<typeof AlertSettings>;

export const DEFAULT_EVALUATION_SECONDS = 30;

/** One alert's settings in force: enabled, and every threshold with a value. */
export interface EffectiveRule {
	enabled: boolean;
	thresholds: Record<string, number>;
}
export interface EffectiveSettings {
	evaluationSeconds: number;
	alerts: Record<AlertName, EffectiveRule>;
}

/** A project's settings over the stored defaults over the catalogue's. */
export function effectiveSettings(defaults: AlertSettings = {}, project: AlertSettings = {}): EffectiveSettings {
	const alerts = Object.fromEntries(
		ALERT_NAMES.map((name) => {
			const d = defaults.alerts?.[name];
			const p = project.alerts?.[name];
			const thresholds = Object.fromEntries(
				Object.entries(CATALOGUE[name].thresholds).map(([key, t]) => [
					key,
					p?.thresholds?.[key] ?? d?.thresholds?.[key] ?? t.default,
				]),
			);
			return [name, { enabled: p?.enabled ?? d?.enabled ?? true, thresholds }];
		}),
	) as Record<AlertName, EffectiveRule>;
	return {
		evaluationSeconds: project.evaluationSeconds ?? defaults.evaluationSeconds ?? DEFAULT_EVALUATION_SECONDS,
		alerts,
	};
}

/** Refuses thresholds an alert does not have (a typo would otherwise be kept and never used). */
export function unknownThresholds(settings: AlertSettings): string[] {
	return Object.entries(settings.alerts ?? {}).flatMap(([name, rule]) =>
		Object.keys(rule?.thresholds ?? {})
			.filter((key) => !(key in CATALOGUE[name as AlertName].thresholds))
			.map((key) => `${name}.${key}`),
	);
}
