import { z } from "zod";

/** The database engines Ferry speaks to; all of them over the MySQL protocol. */
export const Engine = z.enum(["mysql", "mariadb", "oceanbase-mysql", "tidb"]);
export type Engine = z.infer<typeof Engine>;

/** Where a database lives and how to log in, without the password (that lives in a secret). */
export const Endpoint = z.object({
	host: z.string().min(1).max(255),
	port: z.number().int().min(1).max(65535),
	user: z.string().min(1).max(128),
	tls: z.boolean().default(false),
});
export type Endpoint = z.infer<typeof Endpoint>;

/** A data source as stored and shown: never holds the password. */
export interface DataSource extends Endpoint {
	id: string;
	name: string;
	engine: Engine;
	description?: string;
	createdAt: string;
	updatedAt: string;
}

/** What a connection needs: the endpoint plus the password fetched from the secret store. */
export interface Credentials extends Endpoint {
	password: string;
}
