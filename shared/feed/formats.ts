import type { ChangeFeed } from "../model/feed.ts";
import type { FeedFormat } from "./event.ts";
import { canalFeedFormat } from "./ferry-canal.ts";
import { debeziumFeedFormat } from "./ferry-debezium.ts";
import { ticdcCanalJsonFormat } from "./ticdc-canal-json.ts";
import { ticdcOpenProtocolFormat } from "./ticdc-open-protocol.ts";

/** The decoder for a feed's format. */
export function feedFormat(feed: Pick<ChangeFeed, "format" | "timeZone">): FeedFormat {
	switch (feed.format) {
		case "ticdc-canal-json":
			return ticdcCanalJsonFormat({ timeZone: feed.timeZone });
		case "ticdc-open-protocol":
			return ticdcOpenProtocolFormat({ timeZone: feed.timeZone });
		case "debezium":
			return debeziumFeedFormat();
		case "canal":
			return canalFeedFormat();
	}
}
