import type { SecretStore } from "../../shared/aws/secrets.ts";
import type { Context } from "../../shared/context.ts";
import { LocalMetricsHistory } from "../../shared/metrics/local-history.ts";
import type { ChunkMessage } from "../../shared/model/chunk-message.ts";
import type { MessageQueue, QueueStats, TaskLauncher } from "../../shared/ports.ts";
import type { QueryPage } from "../../shared/state/store.ts";
import { ConflictError, type Key, keyOf, type StateStore, type Stored, withoutKey } from "../../shared/state/store.ts";

/**
 * In-memory stand-ins for the control plane's ports, for the scheduler's fast tests (no
 * services). They keep the contracts the real adapters keep: the store's conditional writes on
 * `version`, and items copied in and out so a caller never shares an object with the store.
 */

const id = (k: Key) => `${k.pk}\u0000${k.sk}`;
const copy = <T>(v: T): T => structuredClone(v);

export class MemoryStateStore implements StateStore {
	readonly items = new Map<string, Stored<object>>();
	/** Writes seen, for tests that count them. */
	writes = 0;
	/** Items handed out by queries (as far as their callers read them), for tests that count them. */
	itemsRead = 0;

	async get<T extends object>(key: Key): Promise<Stored<T> | undefined> {
		const item = this.items.get(id(key));
		return item && (copy(item) as Stored<T>);
	}

	async create<T extends object>(key: Key, value: T): Promise<Stored<T>> {
		if (this.items.has(id(key))) throw new ConflictError(key);
		return this.put(key, value, 1);
	}

	async replace<T extends object>(key: Key, value: T, expectedVersion: number): Promise<Stored<T>> {
		const current = this.items.get(id(key));
		if (!current || current.version !== expectedVersion) throw new ConflictError(key);
		return this.put(key, value, expectedVersion + 1);
	}

	async modify<T extends object>(
		key: Key,
		change: (current: Stored<T>) => T | undefined,
	): Promise<Stored<T> | undefined> {
		const current = await this.get<T>(key);
		if (!current) return undefined;
		const next = change(current);
		if (next === undefined) return current;
		return this.replace(key, withoutKey(next as Stored<T>), current.version);
	}

	async delete(key: Key, expectedVersion?: number): Promise<void> {
		const current = this.items.get(id(key));
		if (expectedVersion !== undefined && current?.version !== expectedVersion) throw new ConflictError(key);
		this.items.delete(id(key));
	}

	async *query<T extends object>(pk: string, prefix = "", page: QueryPage = {}): AsyncGenerator<Stored<T>> {
		const after = page.after;
		const matching = [...this.items.values()]
			.filter((i) => i.pk === pk && i.sk.startsWith(prefix) && (after === undefined || i.sk > after))
			.sort((a, b) => (a.sk < b.sk ? -1 : 1));
		for (const item of matching) {
			this.itemsRead += 1;
			yield copy(item) as Stored<T>;
		}
	}

	async list<T extends object>(pk: string, prefix = ""): Promise<Stored<T>[]> {
		return Array.fromAsync(this.query<T>(pk, prefix));
	}

	private put<T extends object>(key: Key, value: T, version: number): Stored<T> {
		const item = { ...copy(value), ...keyOf(key), version } as Stored<T>;
		this.items.set(id(key), item);
		this.writes += 1;
		return copy(item);
	}
}

/** A queue that keeps what was sent, in order. */
export class MemoryQueue<T> implements MessageQueue<T> {
	readonly sent: T[] = [];
	async send(items: readonly T[]): Promise<void> {
		this.sent.push(...copy(items));
	}
	/** Takes every message sent so far. */
	drain(): T[] {
		return this.sent.splice(0);
	}
	async stats(): Promise<QueueStats> {
		return { visible: this.sent.length, inFlight: 0, deadLetters: 0 };
	}
}

/** A task launcher that records starts and stops; `running` is what it last started and did not stop. */
export class FakeTaskLauncher implements TaskLauncher {
	readonly started: string[] = [];
	readonly stopped: string[] = [];
	readonly live = new Set<string>();
	async start(replicationId: string): Promise<void> {
		this.started.push(replicationId);
		this.live.add(replicationId);
	}
	async running(replicationId: string): Promise<boolean> {
		return this.live.has(replicationId);
	}
	async stop(replicationId: string): Promise<void> {
		this.stopped.push(replicationId);
		this.live.delete(replicationId);
	}
}

class MemorySecrets implements SecretStore {
	private readonly secrets = new Map<string, string>();
	async put(id: string, secret: string): Promise<void> {
		this.secrets.set(id, secret);
	}
	async get(id: string): Promise<string> {
		const s = this.secrets.get(id);
		if (s === undefined) throw new Error(`no secret ${id}`);
		return s;
	}
	async delete(id: string): Promise<void> {
		this.secrets.delete(id);
	}
}

export interface FakeContext extends Context {
	store: MemoryStateStore;
	copyQueue: MemoryQueue<ChunkMessage>;
	verifyQueue: MemoryQueue<ChunkMessage>;
	tasks: FakeTaskLauncher;
}

export function fakeContext(): FakeContext {
	return {
		store: new MemoryStateStore(),
		copyQueue: new MemoryQueue(),
		verifyQueue: new MemoryQueue(),
		secrets: new MemorySecrets(),
		tasks: new FakeTaskLauncher(),
		metrics: new LocalMetricsHistory(),
	};
}
