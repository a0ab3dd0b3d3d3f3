import { triggersPk } from "./keys.ts";
import type { StateStore } from "./store.ts";

/** The attribute each item keeps its reading in. */
const FIELDS = { source: "triggers", events: "events" } as const;

/**
 * What the switchover read from the source before changing it (`source`: its triggers,
 * `events`: its enabled events). The first reading is kept: the source loses them at the next
 * step, and a second scheduler reading again would find them gone.
 */
export async function keptOnce<T>(
	ctx: { store: StateStore },
	projectId: string,
	item: keyof typeof FIELDS,
	read: () => Promise<T>,
): Promise<T> {
	const key = { pk: triggersPk(projectId), sk: item };
	const field = FIELDS[item];
	const saved = await ctx.store.get<Record<string, T>>(key);
	if (saved) return saved[field] as T;
	const value = await read();
	// a second scheduler may have saved it first: keep the first reading (the source may have lost it since)
	const kept = await ctx.store
		.create<Record<string, T>>(key, { [field]: value })
		.catch(async () => ctx.store.get<Record<string, T>>(key));
	return (kept?.[field] as T | undefined) ?? value;
}
