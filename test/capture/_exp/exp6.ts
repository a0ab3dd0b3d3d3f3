import { checkCaptureSettings, currentPosition } from "../../../shared/capture/reader.ts";
import { connect } from "../../../shared/db/connect.ts";
import { sourceCredentials as creds } from "../../support/databases.ts";

let t = Date.now();
const c = await connect(creds);
console.log("connect", Date.now() - t);
t = Date.now();
await checkCaptureSettings(c);
console.log("check", Date.now() - t);
t = Date.now();
await currentPosition(c);
console.log("pos", Date.now() - t);
t = Date.now();
await c.end();
