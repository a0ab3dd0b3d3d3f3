/**
 * The ranges a project's number options may take (ProjectOptions in project.ts checks them; the
 * console's wizard says so before the API would refuse), and the limits of its tags. Plain data
 * without zod, so the browser bundle can hold it.
 */
export const OPTION_RANGES = {
	parallelism: { min: 1, max: 64 },
	chunkRows: { min: 100, max: 1_000_000 },
	maxRowsPerSecond: { min: 1, max: 100_000_000 },
	maxBytesPerSecond: { min: 1, max: 100 * 1024 ** 3 },
	verifyConcurrency: { min: 1, max: 64 },
	replayBatchSize: { min: 1, max: 100_000 },
	parallelApply: { min: 1, max: 32 },
	queryTimeoutSeconds: { min: 1, max: 86_400 },
} as const;

export type RangedOption = keyof typeof OPTION_RANGES;

export const TAG_LIMITS = { length: 64, count: 50 } as const;
