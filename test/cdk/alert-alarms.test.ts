import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { FerryStack } from "../../cdk/ferry-stack.ts";
import { addNagChecks } from "../../cdk/nag.ts";
import { ALERT_NAMES } from "../../shared/alerts/catalogue.ts";
import { alertNameOfAlarm } from "../../shared/alerts/cloudwatch.ts";
import { FAST_APP, stubSourceRoot } from "./stub-source.ts";

const { sourceRoot, remove } = stubSourceRoot("cdk-alerts");
afterAll(remove);

const app = new App(FAST_APP);
const stack = new FerryStack(app, "FerryStack", { sourceRoot });
const pack = addNagChecks(app);
const template = Template.fromStack(stack);

const topicRef = () => {
	const topics = Object.keys(template.findResources("AWS::SNS::Topic"));
	expect(topics).toHaveLength(1);
	return { Ref: topics[0] };
};

describe("the alert catalogue in CloudWatch", () => {
	it("has an alarm named <stack>-<alert name> for every alert name, each sending to the alert topic on ALARM and OK", () => {
		const alarms = [
			...Object.values(template.findResources("AWS::CloudWatch::Alarm")),
			...Object.values(template.findResources("AWS::CloudWatch::CompositeAlarm")),
		].map((a) => a.Properties);
		for (const name of ALERT_NAMES) {
			const mine = alarms.filter((p) => (p.AlarmName ?? p.CompositeAlarmName) === `FerryStack-${name}`);
			expect(mine, name).toHaveLength(1);
			expect(mine[0].AlarmActions, name).toEqual([topicRef()]);
			expect(mine[0].OKActions, name).toEqual([topicRef()]);
			expect(alertNameOfAlarm(`FerryStack-${name}`)).toBe(name);
		}
	});

	it("measures each alert by the metric the product publishes", () => {
		for (const [name, expression] of [
			["oms_migration_delay", 'SELECT MAX(ReplicationLatencySeconds) FROM "Ferry"'],
			["oms_sync_delay", 'SELECT MAX(SyncLatencySeconds) FROM "Ferry"'],
			["oms_host_down", 'SELECT MAX(ReplicationHeartbeatAgeSeconds) FROM "Ferry"'],
			["oms_sync_status_inconsistent", 'SELECT SUM(ReplicationTaskUnwanted) FROM "Ferry"'],
			["ferry_verification_inconsistent", 'SELECT SUM(VerificationDifferences) FROM "Ferry"'],
		]) {
			template.hasResourceProperties("AWS::CloudWatch::Alarm", {
				AlarmName: `FerryStack-${name}`,
				Metrics: [Match.objectLike({ Expression: expression })],
			});
		}
		template.hasResourceProperties("AWS::CloudWatch::Alarm", {
			AlarmName: "FerryStack-ferry_chunk_stuck",
			Metrics: Match.arrayWith([Match.objectLike({ Expression: "dlq0 + dlq1" })]),
		});
	});

	it("records the alarms' state changes through the scheduler, which may publish to the encrypted, TLS-only topic", () => {
		template.hasResourceProperties("AWS::Events::Rule", {
			EventPattern: {
				source: ["aws.cloudwatch"],
				"detail-type": ["CloudWatch Alarm State Change"],
				detail: { alarmName: [{ prefix: "FerryStack-" }] },
			},
			Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^SchedulerFn"), "Arn"] } })],
		});
		template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
		template.hasResourceProperties("AWS::Lambda::Function", {
			Environment: { Variables: Match.objectLike({ FERRY_ALERT_TOPIC_ARN: topicRef() }) },
		});
	});

	it("leaves cdk-nag without a finding on the alert topic, its key or its rule", () => {
		app.synth();
		const findings = pack
			.validateScope(app)
			.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`))
			.filter((f) => f.includes("AlertAlarms"));
		expect(findings).toEqual([]);
	});
});
