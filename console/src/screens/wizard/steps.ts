import type { DataSource } from "../../../../shared/model/datasource.ts";
import type { Draft } from "./draft.ts";

/** What each wizard step gets: the draft, a way to change it, and the data sources. */
export interface StepProps {
	draft: Draft;
	update: (change: Partial<Draft>) => void;
	sources: DataSource[];
	/** The destination is Kafka or RocketMQ: a synchronization project. */
	synchronizes: boolean;
}
