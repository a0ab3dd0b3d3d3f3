import { Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";

/** Registers the cdk-nag AWS Solutions pack; its errors fail `cdk synth`. */
export function addNagChecks(app: IConstruct): AwsSolutionsChecks {
	const pack = new AwsSolutionsChecks(app);
	Validations.of(app).addPlugins(pack);
	return pack;
}

/** Acknowledges one cdk-nag finding (e.g. `AwsSolutions-APIG2`) on a construct and everything below it. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
	Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Acknowledges AwsSolutions-IAM5 for one wildcard resource ARN, computing the finding id the same way
 * cdk-nag does (tokens flattened to `<LogicalId>` / `<AWS::Region>`), so the id survives logical-id
 * and environment changes.
 */
export function acknowledgeWildcardResource(scope: IConstruct, arn: string, reason: string): void {
	const flat = flattenCfn(Stack.of(scope).resolve(arn));
	acknowledge(scope, `AwsSolutions-IAM5[Resource::${flat}]`, reason);
}

/** Same flattening as cdk-nag's utils/flatten-cfn-reference (not exported by the package). */
function flattenCfn(node: unknown): string {
	if (node === undefined) return "";
	if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/\}/g, ">");
	if (typeof node === "object" && node !== null) {
		const o = node as Record<string, unknown>;
		if (Array.isArray(o["Fn::Join"])) {
			const [delimiter, items] = o["Fn::Join"] as [string, unknown[]];
			return items.map(flattenCfn).join(delimiter);
		}
		if ("Fn::Sub" in o) return flattenCfn(o["Fn::Sub"]);
		if (Array.isArray(o["Fn::GetAtt"])) {
			const [resource, attribute] = o["Fn::GetAtt"] as [unknown, unknown];
			return `<${flattenCfn(resource)}.${flattenCfn(attribute)}>`;
		}
		if ("Fn::ImportValue" in o) return flattenCfn(o["Fn::ImportValue"]);
		if ("Ref" in o) return `<${flattenCfn(o.Ref)}>`;
	}
	return JSON.stringify(node);
}
