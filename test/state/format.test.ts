import { describe, expect, it } from "vitest";
import type { ChunkItem } from "../../shared/state/chunks.ts";
import { chunkV1ToV2, currentFormat, FormatTooNewError, formatOf, upgradeRecord } from "../../shared/state/format.ts";
import { FormattedStore } from "../../shared/state/formatted-store.ts";
import { chunksPk, itemKind, projectKey, STREAMS_PK, verifyChunksPk } from "../../shared/state/keys.ts";
import { MemoryStateStore } from "../support/fakes.ts";

const spec = { kind: "whole", index: 0 } as unknown as ChunkItem["spec"];

describe("format versions: upgraders (pure)", () => {
	it("chunk 1 -> 2: a pending chunk's deadline was its retry time; other states keep theirs", () => {
		expect(chunkV1ToV2({ state: "pending", deadline: 1234, attempts: 2 })).toEqual({
			state: "pending",
			retryAt: 1234,
			attempts: 2,
		});
		const leased = { state: "leased", deadline: 99, attempts: 1, owner: "w:1" };
		expect(chunkV1ToV2(leased)).toBe(leased);
		const fresh = { state: "pending", attempts: 0 };
		expect(chunkV1ToV2(fresh)).toBe(fresh);
	});

	it("an item without a format is format 1; a malformed one is refused", () => {
		expect(formatOf(undefined, "x")).toBe(1);
		expect(formatOf(null, "x")).toBe(1);
		expect(formatOf(2, "x")).toBe(2);
		expect(formatOf("3", "x")).toBe(3);
		expect(() => formatOf("two", "item X")).toThrow(/item X has an invalid format 'two'/);
	});

	it("runs the upgraders from the stored format to the current one, and leaves a current record as it is", () => {
		expect(currentFormat("chunk")).toBe(2);
		expect(upgradeRecord("chunk", 1, { state: "pending", deadline: 5 }, "c")).toEqual({ state: "pending", retryAt: 5 });
		const current = { state: "pending", deadline: 5 };
		expect(upgradeRecord("chunk", 2, current, "c")).toBe(current);
	});

	it("refuses a format newer than it knows, naming the item and saying to upgrade Ferry", () => {
		let err: unknown;
		try {
			upgradeRecord("chunk", 3, {}, "state item CHUNKS#p/000000#000000001 (chunk)");
		} catch (e) {
			err = e;
		}
		expect(err).toBeInstanceOf(FormatTooNewError);
		expect((err as Error).message).toBe(
			"state item CHUNKS#p/000000#000000001 (chunk) is in format 3, newer than this Ferry knows (format 2): " +
				"a newer Ferry wrote it; upgrade Ferry (a downgrade cannot read it back)",
		);
	});

	it("every partition has a kind; copy and verification chunks share one", () => {
		expect(itemKind(chunksPk("p1"))).toBe("chunk");
		expect(itemKind(verifyChunksPk("p1", 3))).toBe("chunk");
		expect(itemKind(STREAMS_PK)).toBe("stream");
		expect(itemKind(projectKey("p1").pk)).toBe("project");
		expect(() => itemKind("NOSUCH#p1")).toThrow(/state partition 'NOSUCH#p1' has no item kind/);
	});
});

describe("format versions: the store (in memory)", () => {
	const key = { pk: chunksPk("p1"), sk: "000000#000000000" };

	it("stamps every write with the kind's format and hides it from the repositories", async () => {
		const inner = new MemoryStateStore();
		const store = new FormattedStore(inner);
		const created = await store.create<ChunkItem>(key, { tableIndex: 0, spec, state: "pending", attempts: 0 });
		expect(created).not.toHaveProperty("format");
		expect(await inner.get(key)).toMatchObject({ format: 2, version: 1 });
		const changed = await store.modify<ChunkItem>(key, (c) => ({ ...c, attempts: 1 }));
		expect(changed).toMatchObject({ attempts: 1, version: 2 });
		expect(changed).not.toHaveProperty("format");
		expect(await inner.get(key)).toMatchObject({ format: 2, attempts: 1 });
		await expect(store.create({ pk: chunksPk("p1"), sk: "x" }, { format: "csv" })).rejects.toThrow(
			/'format' is reserved/,
		);
	});

	it("reads an item an older Ferry wrote (no format) upgraded, and writes it back in the current format", async () => {
		const inner = new MemoryStateStore();
		const store = new FormattedStore(inner);
		await inner.create(key, { tableIndex: 0, spec, state: "pending", attempts: 2, deadline: 777 });
		const [listed] = await store.list<ChunkItem>(chunksPk("p1"));
		expect(listed).toMatchObject({ state: "pending", attempts: 2, retryAt: 777, version: 2 });
		expect(listed).not.toHaveProperty("deadline");
		const raw = await inner.get<Record<string, unknown>>(key);
		expect(raw).toMatchObject({ format: 2, retryAt: 777, version: 2 });
		expect(raw).not.toHaveProperty("deadline");
		// read again: nothing left to upgrade, no write
		const writes = inner.writes;
		expect(await store.get<ChunkItem>(key)).toMatchObject({ retryAt: 777, version: 2 });
		expect(inner.writes).toBe(writes);
	});

	it("refuses an item a newer Ferry wrote, on every read and change, and leaves it as it is", async () => {
		const inner = new MemoryStateStore();
		const store = new FormattedStore(inner);
		await inner.create(key, { tableIndex: 0, spec, state: "done", attempts: 1, format: 3, newField: "x" });
		await expect(store.get(key)).rejects.toThrow(FormatTooNewError);
		await expect(store.list(chunksPk("p1"))).rejects.toThrow(/CHUNKS#p1\/000000#000000000 \(chunk\) is in format 3/);
		await expect(store.modify<ChunkItem>(key, (c) => ({ ...c, attempts: 9 }))).rejects.toThrow(FormatTooNewError);
		expect(await inner.get(key)).toMatchObject({ format: 3, newField: "x", attempts: 1, version: 1 });
	});
});
