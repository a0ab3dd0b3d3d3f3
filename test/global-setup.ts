import { buildConsole } from "../console/build.ts";

/** The console's browser tests load the built console: build it once from the current source. */
export default async function setup(): Promise<void> {
	await buildConsole();
}
