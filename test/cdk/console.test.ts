import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { makeStack } from "../support/cdk-stack.ts";

const { app, stack } = makeStack();
const template = Template.fromStack(stack);
const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
const resources = Object.entries(json.Resources);
const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
const only = (type: string) => {
	const found = ofType(type);
	expect(found, type).toHaveLength(1);
	return found[0] as [string, { Properties: Record<string, unknown> }];
};
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON
const props = (type: string) => only(type)[1].Properties as any;
const [bucketId] = ofType("AWS::S3::Bucket").find(([id]) => id.startsWith("ConsoleFiles")) ?? [];
const consoleApiId = ofType("AWS::ApiGateway::RestApi").find(([, r]) => r.Properties.Name === "ConsoleApi")?.[0];
const resolved = (v: unknown) => JSON.stringify(stack.resolve(v));

describe("the console in AWS (S3 + CloudFront + Cognito + ConsoleApi)", () => {
	it("keeps the files in a private bucket that only the distribution reads, over TLS", () => {
		expect(bucketId).toBeDefined();
		const bucket = json.Resources[bucketId as string]?.Properties;
		expect(bucket?.PublicAccessBlockConfiguration).toEqual({
			BlockPublicAcls: true,
			BlockPublicPolicy: true,
			IgnorePublicAcls: true,
			RestrictPublicBuckets: true,
		});
		expect(bucket?.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] });
		const policy = ofType("AWS::S3::BucketPolicy").find(([, p]) =>
			resolved(p.Properties.Bucket).includes(bucketId as string),
		);
		// biome-ignore lint/suspicious/noExplicitAny: policy JSON
		const statements = (policy?.[1].Properties.PolicyDocument as any)?.Statement as any[];
		const deny = statements.find((s) => s.Effect === "Deny");
		expect(deny.Condition).toEqual({ Bool: { "aws:SecureTransport": "false" } });
		const allows = statements.filter((s) => s.Effect === "Allow");
		expect(allows).toHaveLength(1);
		expect(allows[0].Principal).toEqual({ Service: "cloudfront.amazonaws.com" });
		expect(allows[0].Action).toBe("s3:GetObject");
		// only this distribution (its ARN in the condition), not every CloudFront distribution
		expect(JSON.stringify(allows[0].Condition)).toContain("AWS:SourceArn");
		expect(JSON.stringify(allows[0].Condition)).toContain("ConsoleCdn");
	});

	it("serves the bucket through Origin Access Control and /api/* from ConsoleApi, uncached, every method, without the viewer's Host", () => {
		const oac = props("AWS::CloudFront::OriginAccessControl").OriginAccessControlConfig;
		expect(oac).toMatchObject({
			OriginAccessControlOriginType: "s3",
			SigningBehavior: "always",
			SigningProtocol: "sigv4",
		});
		const dist = props("AWS::CloudFront::Distribution").DistributionConfig;
		expect(dist.DefaultRootObject).toBe("index.html");
		const s3Origin = dist.Origins.find((o: { S3OriginConfig?: unknown }) => o.S3OriginConfig);
		expect(s3Origin.OriginAccessControlId).toBeDefined();
		expect(s3Origin.S3OriginConfig.OriginAccessIdentity).toBe("");
		expect(dist.DefaultCacheBehavior.ViewerProtocolPolicy).toBe("redirect-to-https");
		expect(dist.CacheBehaviors).toHaveLength(1);
		const api = dist.CacheBehaviors[0];
		expect(api.PathPattern).toBe("/api/*");
		expect(api.CachePolicyId).toBe("4135ea2d-6df8-44a3-9df3-4b5a84be39ad"); // CachingDisabled
		expect(api.OriginRequestPolicyId).toBe("b689b0a8-53d0-40ab-baf2-68738e2966ac"); // AllViewerExceptHostHeader
		expect(api.AllowedMethods).toEqual(["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]);
		const apiOrigin = dist.Origins.find((o: { Id: string }) => o.Id === api.TargetOriginId);
		expect(JSON.stringify(apiOrigin.DomainName)).toContain(consoleApiId);
		expect(resolved(apiOrigin.OriginPath)).toContain("v1"); // the stage: /api/x reaches the function as /api/x
		expect(apiOrigin.CustomOriginConfig.OriginProtocolPolicy).toBe("https-only");
	});

	it("sends a CSP that allows calls to itself and to the managed login only, with the other security headers", () => {
		const cfg = props("AWS::CloudFront::ResponseHeadersPolicy").ResponseHeadersPolicyConfig;
		const csp = resolved(cfg.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy);
		expect(csp).toContain("script-src 'self'");
		expect(csp).toMatch(
			/connect-src 'self' https:\/\/.*ConsoleUsersLogin.*\.auth\.".*AWS::Region.*amazoncognito\.com; /,
		);
		expect(csp).toContain("frame-ancestors 'none'");
		expect(cfg.SecurityHeadersConfig.StrictTransportSecurity.AccessControlMaxAgeSec).toBe(31_536_000);
		expect(cfg.SecurityHeadersConfig.FrameOptions.FrameOption).toBe("DENY");
		const dist = props("AWS::CloudFront::Distribution").DistributionConfig;
		expect(dist.DefaultCacheBehavior.ResponseHeadersPolicyId).toBeDefined();
		expect(dist.CacheBehaviors[0].ResponseHeadersPolicyId).toEqual(dist.DefaultCacheBehavior.ResponseHeadersPolicyId);
	});

	it("puts a Cognito user pool authorizer on every method of ConsoleApi, which calls the same api function", () => {
		expect(consoleApiId).toBeDefined();
		const authorizer = props("AWS::ApiGateway::Authorizer");
		expect(authorizer.Type).toBe("COGNITO_USER_POOLS");
		expect(resolved(authorizer.ProviderARNs)).toContain("ConsoleUsers");
		expect(resolved(authorizer.RestApiId)).toContain(consoleApiId);
		const methods = ofType("AWS::ApiGateway::Method").filter(([, m]) =>
			resolved(m.Properties.RestApiId).includes(consoleApiId as string),
		);
		expect(methods.map(([, m]) => m.Properties.HttpMethod).sort()).toEqual(["ANY", "ANY"]); // / and {proxy+}
		const fnOf = (m: { Properties: Record<string, unknown> }) =>
			resolved((m.Properties.Integration as { Uri: unknown }).Uri).match(/ApiFn[A-Za-z0-9]*/)?.[0];
		for (const [, m] of methods) {
			expect(m.Properties.AuthorizationType).toBe("COGNITO_USER_POOLS");
			expect(resolved(m.Properties.AuthorizerId)).toContain("ConsoleAuthorizer");
			expect(fnOf(m)).toMatch(/^ApiFn/);
		}
		// the CLI's API keeps SigV4
		const cli = ofType("AWS::ApiGateway::Method").filter(
			([, m]) => !resolved(m.Properties.RestApiId).includes(consoleApiId as string),
		);
		expect(cli.length).toBeGreaterThanOrEqual(2);
		for (const [, m] of cli) expect(m.Properties.AuthorizationType).toBe("AWS_IAM");
		expect(fnOf(methods[0]?.[1] as never)).toBe(fnOf(cli[0]?.[1] as never));
	});

	it("has a user pool with the three role groups and a public code+PKCE client that returns to the distribution", () => {
		const pool = props("AWS::Cognito::UserPool");
		expect(pool.AdminCreateUserConfig.AllowAdminCreateUserOnly).toBe(true);
		expect(pool.MfaConfiguration).toBe("ON");
		expect(pool.Policies.PasswordPolicy.MinimumLength).toBeGreaterThanOrEqual(12);
		const groups = ofType("AWS::Cognito::UserPoolGroup").map(([, g]) => g.Properties.GroupName);
		expect(groups.sort()).toEqual(["admin", "operator", "viewer"]);
		const client = props("AWS::Cognito::UserPoolClient");
		expect(client.GenerateSecret).toBe(false);
		expect(client.AllowedOAuthFlows).toEqual(["code"]);
		expect(client.AllowedOAuthFlowsUserPoolClient).toBe(true);
		expect(client.AllowedOAuthScopes.sort()).toEqual(["email", "openid", "profile"]);
		expect(client.SupportedIdentityProviders).toEqual(["COGNITO"]);
		for (const urls of [client.CallbackURLs, client.LogoutURLs]) {
			expect(urls).toHaveLength(1);
			expect(resolved(urls[0])).toMatch(/"https:\/\/",\{"Fn::GetAtt":\["ConsoleCdn[A-Z0-9]+","DomainName"\]\},"\/"/);
		}
		const domain = props("AWS::Cognito::UserPoolDomain");
		expect(domain.ManagedLoginVersion).toBe(2);
		expect(props("AWS::Cognito::ManagedLoginBranding").UseCognitoProvidedValues).toBe(true);
	});

	it("deploys the built console and a config.json that signs in with the pool's client on the managed login", () => {
		const deployments = ofType("Custom::CDKBucketDeployment").map(([, d]) => d.Properties);
		expect(deployments).toHaveLength(2);
		for (const d of deployments) {
			expect(resolved(d.DestinationBucketName)).toContain(bucketId);
			expect(d.Prune).toBe(false); // the two deployments share the bucket
		}
		const pages = deployments.find((d) => (d.SourceMarkers as unknown[] | undefined)?.length);
		const cacheControl = (d: typeof pages) =>
			(d?.SystemMetadata as Record<string, string> | undefined)?.["cache-control"];
		expect(cacheControl(pages)).toBe("no-cache");
		const files = deployments.find((d) => d !== pages);
		expect(cacheControl(files)).toContain("immutable");
		// config.json is written at deploy time with the tokens' values: the staged file holds markers
		const assembly = app.synth();
		const keys = stack.resolve(pages?.SourceObjectKeys) as string[];
		const configs = keys
			.map((k) => join(assembly.directory, `asset.${k.replace(/\.zip$/, "")}`, "config.json"))
			.filter((f) => existsSync(f));
		expect(configs).toHaveLength(1);
		const config = JSON.parse(readFileSync(configs[0] as string, "utf8"));
		expect(config.apiBase).toBe("/api");
		expect(config.auth.kind).toBe("cognito");
		const markers = stack.resolve(pages?.SourceMarkers) as Record<string, unknown>[];
		const value = (text: string) => JSON.stringify(markers.map((m) => m[text]).find((v) => v !== undefined));
		expect(value(config.auth.clientId)).toMatch(/"Ref":"ConsoleUsersConsole[A-Z0-9]+"/);
		expect(value(config.auth.domain)).toMatch(/ConsoleUsersLogin.*\.auth\..*AWS::Region.*\.amazoncognito\.com/);
		const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
		expect(resolved(outputs.ConsoleUrl?.Value)).toContain("ConsoleCdn");
		expect(resolved(outputs.ConsoleUserPoolId?.Value)).toContain("ConsoleUsers");
	});
});
