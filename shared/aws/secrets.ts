import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
	CreateSecretCommand,
	DeleteSecretCommand,
	GetSecretValueCommand,
	PutSecretValueCommand,
	ResourceExistsException,
	ResourceNotFoundException,
	SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";

/** Where data-source passwords live: never in the state table, never in logs. */
export interface SecretStore {
	put(id: string, secret: string): Promise<void>;
	get(id: string): Promise<string>;
	delete(id: string): Promise<void>;
}

export class SecretsManagerStore implements SecretStore {
	constructor(
		private readonly client: SecretsManagerClient,
		private readonly prefix: string,
		private readonly kmsKeyId?: string,
	) {}

	async put(id: string, secret: string): Promise<void> {
		const name = this.prefix + id;
		try {
			await this.client.send(new CreateSecretCommand({ Name: name, SecretString: secret, KmsKeyId: this.kmsKeyId }));
		} catch (err) {
			if (!(err instanceof ResourceExistsException)) throw err;
			await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: secret }));
		}
	}

	async get(id: string): Promise<string> {
		const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.prefix + id }));
		if (out.SecretString === undefined) throw new Error(`secret for data source ${id} is empty`);
		return out.SecretString;
	}

	async delete(id: string): Promise<void> {
		try {
			await this.client.send(
				new DeleteSecretCommand({
					SecretId: this.prefix + id,
					RecoveryWindowInDays: 7,
				}),
			);
		} catch (err) {
			if (!(err instanceof ResourceNotFoundException)) throw err;
		}
	}
}

/**
 * Local mode's secret store: one JSON file readable by its owner only, outside the repo
 * (default ~/.ferry/secrets/datasources.json). Writes go through a temporary file and a rename
 * so a killed process never leaves a half-written file.
 */
export class FileSecretStore implements SecretStore {
	constructor(private readonly file: string) {}

	private read(): Record<string, string> {
		if (!existsSync(this.file)) return {};
		return JSON.parse(readFileSync(this.file, "utf8")) as Record<string, string>;
	}

	private write(all: Record<string, string>): void {
		mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
		const tmp = `${this.file}.${process.pid}.tmp`;
		writeFileSync(tmp, JSON.stringify(all), { mode: 0o600 });
		chmodSync(tmp, 0o600);
		renameSync(tmp, this.file);
	}

	async put(id: string, secret: string): Promise<void> {
		this.write({ ...this.read(), [id]: secret });
	}

	async get(id: string): Promise<string> {
		const secret = this.read()[id];
		if (secret === undefined) throw new Error(`no secret stored for data source ${id} in ${this.file}`);
		return secret;
	}

	async delete(id: string): Promise<void> {
		const { [id]: _gone, ...rest } = this.read();
		this.write(rest);
	}
}

export function secretStoreFor(config: {
	region: string;
	secretPrefix: string;
	secretKmsKeyId?: string;
	secretFile?: string;
}): SecretStore {
	return config.secretFile
		? new FileSecretStore(config.secretFile)
		: new SecretsManagerStore(
				new SecretsManagerClient({ region: config.region }),
				config.secretPrefix,
				config.secretKmsKeyId,
			);
}
