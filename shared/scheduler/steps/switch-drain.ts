import { hasReached } from "../../binlog/position.ts";
import { sourcePositionNow } from "../../binlog/tso.ts";
import { replicationId } from "../../replication/ids.ts";
import { withConnection } from "../../state/datasources.ts";
import { replicationStatus } from "../../state/streams.ts";
import type { Step } from "../step.ts";
import { block, losesChanges, setSwitchover } from "../switchover.ts";

/** Replay drains to the source's final position (its position once writes stopped). */
export const switchDrain: Step = {
	name: "switch-drain",
	appliesTo: (types) => types.includes("switchover"),
	alarm: "SwitchoverBlocked",
	cannotSkip: losesChanges,
	async run(ctx, project) {
		let finalPosition = project.switchover?.finalPosition;
		if (!finalPosition) {
			finalPosition = await withConnection(ctx, project.sourceId, (c) => sourcePositionNow(c, project));
			await setSwitchover(ctx, project, { finalPosition });
		}
		const r = await replicationStatus(ctx, replicationId(project.id, "forward"));
		if (!hasReached(r?.position, finalPosition))
			return block(ctx, project, "replay is draining to the source's final position");
		return "done";
	},
};
