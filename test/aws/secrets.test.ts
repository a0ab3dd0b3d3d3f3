import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException } from "@aws-sdk/client-secrets-manager";
import { afterEach, describe, expect, it } from "vitest";
import { SecretsManagerStore } from "../../shared/aws/secrets.ts";
import { configFromEnv } from "../../shared/config.ts";

/** No Secrets Manager runs here: a fake client records each command and answers as the service would. */
function recordedSecrets(existing: string[] = []) {
	const calls: Array<{ name: string; input: Record<string, unknown> }> = [];
	const client = {
		send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
			calls.push({ name: command.constructor.name, input: command.input });
			if (command instanceof CreateSecretCommand && existing.includes(String(command.input.Name))) {
				throw new ResourceExistsException({ message: "exists", $metadata: {} });
			}
			return {};
		},
	};
	return { calls, client: client as never };
}

describe("data-source secrets in Secrets Manager", () => {
	const saved = { ...process.env };
	afterEach(() => {
		process.env = { ...saved };
	});

	it("creates a new secret under the configured KMS key", async () => {
		const { calls, client } = recordedSecrets();
		await new SecretsManagerStore(client, "ferry/datasources/", "arn:aws:kms:eu-west-1:123456789012:key/k-1").put(
			"ds-1",
			"pw",
		);
		expect(calls).toEqual([
			{
				name: CreateSecretCommand.name,
				input: {
					Name: "ferry/datasources/ds-1",
					SecretString: "pw",
					KmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/k-1",
				},
			},
		]);
	});

	it("leaves the key to Secrets Manager without one, and updates an existing secret's value in place", async () => {
		const { calls, client } = recordedSecrets(["ferry/datasources/ds-2"]);
		await new SecretsManagerStore(client, "ferry/datasources/").put("ds-2", "new");
		expect(calls.map((c) => c.name)).toEqual([CreateSecretCommand.name, PutSecretValueCommand.name]);
		expect(calls[0]?.input.KmsKeyId).toBeUndefined();
		expect(calls[1]?.input).toEqual({ SecretId: "ferry/datasources/ds-2", SecretString: "new" });
	});

	it("reads the key from FERRY_SECRET_KMS_KEY_ID, which the construct sets on the API function", () => {
		Object.assign(process.env, { FERRY_STATE_TABLE: "t", FERRY_COPY_QUEUE_URL: "c", FERRY_VERIFY_QUEUE_URL: "v" });
		delete process.env.FERRY_SECRET_KMS_KEY_ID;
		expect(configFromEnv().secretKmsKeyId).toBeUndefined();
		process.env.FERRY_SECRET_KMS_KEY_ID = "alias/ferry";
		expect(configFromEnv().secretKmsKeyId).toBe("alias/ferry");
	});
});
