import { describe, expect, it } from "vitest";
import type { TransactionPart } from "../../shared/capture/change.ts";
import { Applier } from "../../shared/replay/applier.ts";
import { applierFixture, identity, ins, Stream } from "./helpers.ts";

/*
 * A group commits in the background while the applier waits for the next part: when its
 * destination write fails and the source then stays quiet, the run must still end with the
 * error at once, not whenever the next change arrives.
 */

describe("a commit that fails while the input is idle", () => {
	const fx = applierFixture("replay_idle");
	const { t, mappings, options } = fx;

	for (const parallel of [1, 2]) {
		it(`ends the run with its error within a second (parallel ${parallel})`, async () => {
			const name = `narrow_${parallel}`;
			await fx.dst.query(`CREATE TABLE ${name} (id INT PRIMARY KEY, v VARCHAR(4))`);
			mappings.set(name, identity(t(name), ["id", "v"]));
			const s = new Stream();
			const quiet = Promise.withResolvers<void>();
			async function* input(): AsyncGenerator<TransactionPart> {
				yield s.tx(ins(t(name), { id: 1, v: "ok" }));
				// strict mode refuses the value: the group's commit fails, and no change follows
				yield s.tx(ins(t(name), { id: 2, v: "far too long" }));
				await quiet.promise;
			}
			const applier = new Applier(options(`idle-${parallel}`, { parallel, groupTransactions: 1 }));
			const started = Date.now();
			const outcome = await Promise.race([
				applier.run(input()).then(
					() => new Error("the run ended without an error"),
					(err: unknown) => err,
				),
				new Promise((resolve) => setTimeout(() => resolve(new Error("still running after 3 s")), 3000)),
			]);
			quiet.resolve();
			expect(String(outcome)).toMatch(/Data too long for column 'v'/);
			expect(Date.now() - started).toBeLessThan(1500);
			await applier.close();
		});
	}
});
