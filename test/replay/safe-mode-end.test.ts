import { describe, expect, it } from "vitest";
import type { TransactionPart } from "../../shared/capture/change.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { Applier } from "../../shared/replay/applier.ts";
import { applierFixture, asAsync, identity, ins, Stream } from "./helpers.ts";

/**
 * Safe mode ends where the copy ended (`safeUntil`), whatever follows: the last transaction
 * before it may be the last one the source ever sends (a quiet source), or be followed only by
 * transactions of tables replay does not write (other databases, which capture hands over as
 * empty parts).
 */
describe("the end of safe mode", () => {
	const fx = applierFixture("replay_safe_end");
	const { db, t, mappings, options } = fx;

	it("is reached without any event when capture starts at safeUntil (nothing written to the source since the copy began)", async () => {
		const s = new Stream();
		const at = s.position(41);
		const applier = new Applier(options("untouched", { safeUntil: at }));
		try {
			await applier.open();
			expect(applier.progress.mode).toBe("safe");
			applier.startAt(at);
			expect(applier.progress.mode).toBe("exact");
			expect(applier.progress.position).toEqual(at);
		} finally {
			await applier.close();
		}
	});

	it("is reached once the position applied reaches safeUntil, with no transaction after it", async () => {
		await fx.dst.query(`CREATE TABLE ${quoteId(db)}.quiet (id INT PRIMARY KEY, v INT)`);
		mappings.set("quiet", identity(t("quiet"), ["id", "v"]));
		const s = new Stream();
		const parts = [s.tx(ins(t("quiet"), { id: 1, v: 1 })), s.tx(ins(t("quiet"), { id: 2, v: 2 }))];
		const safeUntil = s.position();
		const applier = new Applier(options("quiet", { safeUntil }));
		try {
			const stats = await applier.run(asAsync(parts));
			expect(stats.position).toEqual(safeUntil);
			expect(stats.mode).toBe("exact");
		} finally {
			await applier.close();
		}
		// a restarted stream whose checkpoint is at safeUntil is exact before it applies anything
		const restarted = new Applier(options("quiet", { safeUntil }));
		try {
			await restarted.open();
			expect(restarted.progress.mode).toBe("exact");
		} finally {
			await restarted.close();
		}
		// and one whose checkpoint is short of it is still safe
		const later = new Applier(options("quiet", { safeUntil: s.position(s.seq + 5) }));
		try {
			await later.open();
			expect(later.progress.mode).toBe("safe");
		} finally {
			await later.close();
		}
	});

	it("is reached by an empty part (other databases' transactions, merged) that jumps past safeUntil", async () => {
		await fx.dst.query(`CREATE TABLE ${quoteId(db)}.other (id INT PRIMARY KEY, v INT)`);
		mappings.set("other", identity(t("other"), ["id", "v"]));
		const s = new Stream(3);
		const first = s.tx(ins(t("other"), { id: 1, v: 1 }));
		// the copy ended while the source wrote to other databases: capture merges a run of such
		// transactions waiting for replay into one empty part, whose position is past safeUntil
		const safeUntil = s.position(s.seq + 2);
		s.seq += 4;
		const merged: TransactionPart = {
			start: { file: "bin.000001", pos: 0 },
			changes: [],
			final: true,
			position: s.position(),
			commitTime: s.time,
			bytes: 0,
		};
		const applier = new Applier(options("other", { safeUntil }));
		try {
			const stats = await applier.run(asAsync([first, merged]));
			expect(stats.position).toEqual(s.position());
			expect(stats.mode).toBe("exact");
		} finally {
			await applier.close();
		}
	});
});
