import type { Context } from "../context.ts";
import { connect } from "../db/connect.ts";
import { invalid } from "../errors.ts";
import { type CatalogDatabase, listCatalog } from "../schema/catalog.ts";
import { credentialsFor } from "../state/datasources.ts";

/** What a database data source holds, for choosing a project's objects (the wizard's tree). */
export interface DataSourceObjects {
	dataSourceId: string;
	databases: CatalogDatabase[];
}

/** Lists a database data source's databases and tables; a message queue has none (422 NOT_A_DATABASE). */
export async function dataSourceObjects(ctx: Context, id: string): Promise<DataSourceObjects> {
	const creds = await credentialsFor(ctx, id);
	let conn: Awaited<ReturnType<typeof connect>>;
	try {
		conn = await connect(creds);
	} catch (err) {
		throw invalid("CONNECTION_FAILED", `cannot connect to data source '${id}': ${(err as Error).message}`);
	}
	try {
		return { dataSourceId: id, databases: await listCatalog(conn) };
	} finally {
		await conn.end().catch(() => {});
	}
}
