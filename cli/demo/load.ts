import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";

/**
 * A write load on the sample database (cli/demo/sample.ts) for the demo and incremental tests: inserts,
 * updates, deletes, primary-key changes, multi-table transactions and writes to the table
 * without a key, from `connections` sessions at once, until `signal` aborts. Connection errors
 * (a restarted server) are waited out, so a test can restart the source under load.
 */
export async function runWriteLoad(
	creds: Credentials,
	database: string,
	options: {
		signal: AbortSignal;
		connections?: number;
		pauseMs?: number;
		/** Added to the ids of new rows, so two loads (say before and after a switchover) never collide. */
		idOffset?: number;
	},
): Promise<{ transactions: number; errors: number }> {
	const stats = { transactions: 0, errors: 0 };
	const sessions = Array.from({ length: options.connections ?? 2 }, (_, i) => session(i));
	await Promise.all(sessions);
	return stats;

	async function session(n: number): Promise<void> {
		let conn: Connection | undefined;
		let i = 0;
		while (!options.signal.aborted) {
			try {
				conn ??= await connect(creds);
				await conn.query(`USE ${quoteId(database)}`);
				await oneTransaction(conn, n, i++, options.idOffset ?? 0);
				stats.transactions += 1;
			} catch {
				stats.errors += 1;
				await conn?.destroy();
				conn = undefined;
				await new Promise((r) => setTimeout(r, 200));
			}
			if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
		}
		await conn?.end().catch(() => {});
	}
}

async function oneTransaction(conn: Connection, session: number, i: number, idOffset: number): Promise<void> {
	const pick = (max: number) => 1 + Math.floor(Math.random() * max);
	const newId = 1_000_000 * (session + 1) + i + idOffset;
	await conn.query("START TRANSACTION");
	try {
		switch (i % 6) {
			case 0:
				await conn.query(
					"INSERT INTO customers (id, email, name, country, balance, born, notes, profile) VALUES (?, ?, ?, 'JP', 12.5, '1990-02-03', ?, ?)",
					[newId, `load${newId}@example.com`, `Łoad ${newId} 🚢`, i % 2 ? null : "note", JSON.stringify({ n: i })],
				);
				break;
			case 1:
				await conn.query(
					"UPDATE customers SET balance = balance + 1.25, notes = CONCAT(COALESCE(notes, ''), 'x') WHERE id = ?",
					[pick(500)],
				);
				break;
			case 2: {
				const order = 10 * newId;
				await conn.query(
					"INSERT INTO orders (id, customer_id, status, tags, amount) VALUES (?, ?, 'new', 'gift', 9.99)",
					[order, pick(500)],
				);
				await conn.query(
					"INSERT INTO order_items (order_id, line_no, sku, qty, unit_price) VALUES (?, 1, 'SKU-000001', 2, 4.5), (?, 2, 'SKU-000002', 1, 1)",
					[order, order],
				);
				await conn.query("UPDATE products SET price = price + 0.01, flags = flags ^ 1 WHERE sku = ?", [
					`SKU-${String(pick(50)).padStart(6, "0")}`,
				]);
				break;
			}
			case 3:
				await conn.query("DELETE FROM order_items WHERE order_id = ? LIMIT 1", [10 * pick(1000)]);
				await conn.query("UPDATE orders SET status = 'shipped', paid_year = 2024 WHERE id = ?", [10 * pick(1000)]);
				break;
			case 4:
				// a primary-key change
				await conn.query("UPDATE order_items SET line_no = line_no + 100 WHERE order_id = ? AND line_no < 100", [
					10 * pick(1000),
				]);
				break;
			default:
				await conn.query("INSERT INTO audit_log (at, actor, message) VALUES (NOW(), ?, ?)", [
					`s${session}`,
					`load ${i}`,
				]);
				await conn.query("DELETE FROM audit_log WHERE actor = ? AND message = ? LIMIT 1", [
					`admin${i % 3}`,
					`event #${i % 500}`,
				]);
		}
		await conn.query("COMMIT");
	} catch (err) {
		await conn.query("ROLLBACK").catch(() => {});
		throw err;
	}
}
