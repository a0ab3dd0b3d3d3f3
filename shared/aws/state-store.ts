import {
	ConditionalCheckFailedException,
	CreateTableCommand,
	DescribeTableCommand,
	ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import {
	DeleteCommand,
	type DynamoDBDocumentClient,
	GetCommand,
	PutCommand,
	QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import type { QueryPage } from "../state/store.ts";
import { ConflictError, type Key, keyOf, type StateStore, type Stored, withoutKey } from "../state/store.ts";

/**
 * The one DynamoDB table that holds Ferry's state (projects, data sources, chunks,
 * checkpoints, tickets). Every change is a conditional write on `version`, so two schedulers
 * or a retried worker can never overwrite each other silently. Only single-item operations:
 * they are atomic in DynamoDB and in every local server we run against.
 */
export class DynamoStateStore implements StateStore {
	constructor(
		private readonly db: DynamoDBDocumentClient,
		readonly table: string,
	) {}

	async get<T extends object>(key: Key): Promise<Stored<T> | undefined> {
		const out = await this.db.send(
			new GetCommand({
				TableName: this.table,
				Key: keyOf(key),
				ConsistentRead: true,
			}),
		);
		return out.Item as Stored<T> | undefined;
	}

	/** Writes a new item; throws ConflictError when one with the same key exists. */
	async create<T extends object>(key: Key, value: T): Promise<Stored<T>> {
		const item = { ...value, ...keyOf(key), version: 1 };
		await this.conditional(key, () =>
			this.db.send(
				new PutCommand({
					TableName: this.table,
					Item: item,
					ConditionExpression: "attribute_not_exists(pk)",
				}),
			),
		);
		return item;
	}

	/** Replaces an item if it still has `expectedVersion`; returns the stored item. */
	async replace<T extends object>(key: Key, value: T, expectedVersion: number): Promise<Stored<T>> {
		const item = { ...value, ...keyOf(key), version: expectedVersion + 1 };
		await this.conditional(key, () =>
			this.db.send(
				new PutCommand({
					TableName: this.table,
					Item: item,
					ConditionExpression: "version = :v",
					ExpressionAttributeValues: { ":v": expectedVersion },
				}),
			),
		);
		return item;
	}

	/** Reads, changes and writes back an item, retrying when a concurrent writer wins. */
	async modify<T extends object>(
		key: Key,
		change: (current: Stored<T>) => T | undefined,
		attempts = 10,
	): Promise<Stored<T> | undefined> {
		for (let i = 0; i < attempts; i++) {
			const current = await this.get<T>(key);
			if (!current) return undefined;
			const next = change(current);
			if (next === undefined) return current;
			try {
				return await this.replace(key, withoutKey(next as Stored<T>), current.version);
			} catch (err) {
				if (!(err instanceof ConflictError)) throw err;
			}
		}
		throw new ConflictError(key);
	}

	async delete(key: Key, expectedVersion?: number): Promise<void> {
		await this.conditional(key, () =>
			this.db.send(
				new DeleteCommand({
					TableName: this.table,
					Key: keyOf(key),
					...(expectedVersion === undefined
						? {}
						: {
								ConditionExpression: "version = :v",
								ExpressionAttributeValues: { ":v": expectedVersion },
							}),
				}),
			),
		);
	}

	/** All items of a partition whose sort key starts with `prefix`, page by page. */
	async *query<T extends object>(pk: string, prefix = "", page: QueryPage = {}): AsyncGenerator<Stored<T>> {
		let start: Record<string, unknown> | undefined = page.after === undefined ? undefined : { pk, sk: page.after };
		do {
			const out = await this.db.send(
				new QueryCommand({
					TableName: this.table,
					KeyConditionExpression: prefix ? "pk = :pk AND begins_with(sk, :p)" : "pk = :pk",
					ExpressionAttributeValues: prefix ? { ":pk": pk, ":p": prefix } : { ":pk": pk },
					ExclusiveStartKey: start,
					Limit: page.pageSize,
					ConsistentRead: true,
				}),
			);
			for (const item of out.Items ?? []) yield item as Stored<T>;
			start = out.LastEvaluatedKey;
		} while (start);
	}

	async list<T extends object>(pk: string, prefix = ""): Promise<Stored<T>[]> {
		return Array.fromAsync(this.query<T>(pk, prefix));
	}

	private async conditional(key: Key, write: () => Promise<unknown>): Promise<void> {
		try {
			await write();
		} catch (err) {
			if (err instanceof ConditionalCheckFailedException || (err as Error).name === "ConditionalCheckFailedException") {
				throw new ConflictError(key);
			}
			throw err;
		}
	}
}

/** Creates the state table when it is missing: local mode and tests only (the CDK app owns it in AWS). */
export async function ensureStateTable(db: DynamoDBDocumentClient, table: string): Promise<void> {
	try {
		await db.send(new DescribeTableCommand({ TableName: table }));
		return;
	} catch (err) {
		if (!(err instanceof ResourceNotFoundException) && (err as Error).name !== "ResourceNotFoundException") throw err;
	}
	try {
		await db.send(
			new CreateTableCommand({
				TableName: table,
				BillingMode: "PAY_PER_REQUEST",
				AttributeDefinitions: [
					{ AttributeName: "pk", AttributeType: "S" },
					{ AttributeName: "sk", AttributeType: "S" },
				],
				KeySchema: [
					{ AttributeName: "pk", KeyType: "HASH" },
					{ AttributeName: "sk", KeyType: "RANGE" },
				],
			}),
		);
	} catch (err) {
		if ((err as Error).name !== "ResourceInUseException") throw err;
	}
	for (let i = 0; i < 100; i++) {
		const out = await db.send(new DescribeTableCommand({ TableName: table }));
		if (out.Table?.TableStatus === "ACTIVE") return;
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`state table ${table} did not become ACTIVE`);
}
