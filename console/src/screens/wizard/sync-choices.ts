import type { SyncOptions } from "../../../../shared/model/sync.ts";

/** The choices of shared/model/sync.ts's enums (its zod schemas stay out of the browser bundle). */
export const FormatName: SyncOptions["format"][] = ["default", "canal", "debezium", "maxwell"];
export const SyncOperation: SyncOptions["operations"] = ["insert", "update", "delete", "ddl"];
