import { z } from "zod";

/**
 * What travels through the copy and verify queues: just enough to find the chunk's state item.
 * A verify chunk names its verification run; a copy chunk does not. Parsed, never cast: a
 * message the schema refuses fails its record (and goes to the dead-letter queue).
 */
export const ChunkMessage = z
	.object({
		projectId: z.string().min(1),
		sk: z.string().min(1),
		verifyRun: z.number().int().positive().optional(),
	})
	.strict();
export type ChunkMessage = z.infer<typeof ChunkMessage>;
