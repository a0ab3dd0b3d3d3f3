import type { FerryClient } from "../../shared/api/client.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { execute, sourceCredentials } from "./databases.ts";
import type { DataSourceIds } from "./stack.ts";
import { waitFor } from "./stack.ts";

/** A small database for the console's verification and switchover tests: 40 customers, 20 orders. */
export async function seedShop(database: string): Promise<void> {
	const db = quoteId(database);
	const customers = Array.from(
		{ length: 40 },
		(_, i) => `(${i + 1}, 'c${i + 1}@example.com', 'Customer ${i + 1}', ${(i * 7.25).toFixed(2)})`,
	);
	const orders = Array.from({ length: 20 }, (_, i) => `(${i + 1}, ${(i % 40) + 1}, ${i * 3 + 1})`);
	await execute(
		sourceCredentials,
		`CREATE DATABASE ${db}`,
		`CREATE TABLE ${db}.customers (id INT PRIMARY KEY, email VARCHAR(80) NOT NULL, name VARCHAR(80) NOT NULL, balance DECIMAL(10,2) NOT NULL)`,
		`CREATE TABLE ${db}.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, quantity INT NOT NULL)`,
		`INSERT INTO ${db}.customers VALUES ${customers.join(", ")}`,
		`INSERT INTO ${db}.orders VALUES ${orders.join(", ")}`,
	);
}

export const stepState = (s: ProjectStatus, name: string) => s.steps.find((x) => x.name === name)?.state;

/** Creates and starts a migration project of `database` with the given types; waits for its first verification to finish. */
export async function startVerifiedProject(
	api: FerryClient,
	ids: DataSourceIds,
	database: string,
	types: string[],
): Promise<string> {
	const p = await api.post<{ id: string }>("/projects", {
		name: `console ${database}`,
		...ids,
		types,
		objects: [{ database }],
		options: { chunkRows: 100 },
	});
	await api.post(`/projects/${p.id}/actions/start`);
	await waitFor("the first verification", async () => {
		const s = await api.get<ProjectStatus>(`/projects/${p.id}/status`);
		if (s.ticket) throw new Error(`ticket: ${s.ticket.step}: ${s.ticket.message}`);
		return stepState(s, "verify") === "done" ? s : undefined;
	});
	return p.id;
}
