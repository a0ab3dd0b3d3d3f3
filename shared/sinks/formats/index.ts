import type { SyncOptions } from "../../model/sync.ts";
import { canalFormat } from "./canal.ts";
import { debeziumFormat } from "./debezium.ts";
import { defaultFormat } from "./default.ts";
import type { Format } from "./format.ts";
import { maxwellFormat } from "./maxwell.ts";

/** The message format a synchronization project chose (SyncOptions.format). */
export function formatFor(options: SyncOptions): Format {
	switch (options.format) {
		case "default":
			return defaultFormat(options);
		case "canal":
			return canalFormat();
		case "maxwell":
			return maxwellFormat();
		case "debezium":
			return debeziumFormat(options);
	}
}
