/**
 * A V8 CPU profile of work done in this very process (bench/replay.ts --profile, where Ferry's
 * capture and replay run in the benchmark's own process): the inspector's profiler around one
 * call, the .cpuprofile written beside the results and summed by sync-profile.ts.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { type ProfileSummary, summariseProfile } from "./sync-profile.ts";

export interface Profiled<T> {
	result: T;
	/** The .cpuprofile (open it in Chrome's DevTools or speedscope). */
	file: string;
	summary: ProfileSummary;
}

/** Runs `fn` under the CPU profiler (1 ms sampling); the profile goes to `file`. */
export async function profiled<T>(file: string, fn: () => Promise<T>): Promise<Profiled<T>> {
	const session = new Session();
	session.connect();
	try {
		await session.post("Profiler.enable");
		await session.post("Profiler.setSamplingInterval", { interval: 1000 });
		await session.post("Profiler.start");
		let result: T;
		try {
			result = await fn();
		} finally {
			const { profile } = await session.post("Profiler.stop");
			writeFileSync(file, JSON.stringify(profile));
		}
		return { result, file, summary: summariseProfile(file, undefined, 20) };
	} finally {
		session.disconnect();
	}
}
