import { openBinlogReader } from "../../../shared/capture/reader.ts";
import { sourceCredentials as creds } from "../../support/databases.ts";

for (let i = 0; i < 3; i++) {
	let t = Date.now();
	const r = await openBinlogReader(creds, { from: "now", serverId: 9301 + i });
	console.log("open", Date.now() - t);
	t = Date.now();
	await r.close();
	console.log("close", Date.now() - t);
}
