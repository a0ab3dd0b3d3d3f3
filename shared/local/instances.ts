import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ferryHome } from "../config.ts";
import type { Credentials } from "../model/datasource.ts";

export type LocalInstance = "source" | "destination" | "scratch" | "scratch2" | "soak-source" | "soak-destination";

const PORTS: Record<LocalInstance, { env: string; port: number }> = {
	source: { env: "FERRY_SOURCE_PORT", port: 33401 },
	destination: { env: "FERRY_DESTINATION_PORT", port: 33402 },
	scratch: { env: "FERRY_SCRATCH_PORT", port: 33403 },
	scratch2: { env: "FERRY_SCRATCH2_PORT", port: 33404 },
	"soak-source": { env: "FERRY_SOAK_SOURCE_PORT", port: 33405 },
	"soak-destination": { env: "FERRY_SOAK_DESTINATION_PORT", port: 33406 },
};

/**
 * Credentials of a private MariaDB instance run by scripts/services/mariadb.sh, whose random
 * password lives in ~/.ferry/secrets/mariadb.env (outside the repo). Used by the demo, the
 * tests and the benchmarks.
 */
export function localInstance(name: LocalInstance): Credentials {
	const file = join(ferryHome(), "secrets", "mariadb.env");
	let text: string;
	try {
		text = readFileSync(file, "utf8");
	} catch {
		throw new Error(`${file} is missing: start the local databases with scripts/services/mariadb.sh start`);
	}
	const env = Object.fromEntries(
		text
			.split("\n")
			.filter((l) => l.includes("="))
			.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
	);
	const { env: portVariable, port } = PORTS[name];
	return {
		host: "127.0.0.1",
		port: Number(process.env[portVariable] ?? port),
		user: env.FERRY_DB_USER ?? "ferry",
		password: env.FERRY_DB_PASSWORD ?? "",
		tls: false,
	};
}
