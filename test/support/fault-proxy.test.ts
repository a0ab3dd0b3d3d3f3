import { createConnection, createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FaultProxy } from "./fault-proxy.ts";

/** An echo server on loopback: what a client sends comes back; a FIN from the client is answered with one. */
async function echoServer(): Promise<{ server: Server; port: number }> {
	const server = createServer({ allowHalfOpen: true }, (s) => {
		s.on("error", () => {});
		s.pipe(s);
	});
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
	const address = server.address();
	if (!address || typeof address === "string") throw new Error("no address");
	return { server, port: address.port };
}

/** A client of the proxy that records what it receives and how its connection ends. */
function client(port: number) {
	const socket = createConnection({ host: "127.0.0.1", port, allowHalfOpen: true });
	const got: Buffer[] = [];
	const ended = { fin: false, error: "" as string, closed: false };
	socket.on("data", (d: Buffer) => got.push(d));
	socket.on("end", () => {
		ended.fin = true;
	});
	socket.on("error", (e: NodeJS.ErrnoException) => {
		ended.error = e.code ?? e.message;
	});
	socket.on("close", () => {
		ended.closed = true;
	});
	const connected = new Promise<void>((r) => socket.once("connect", () => r()));
	return {
		socket,
		connected,
		ended,
		text: () => Buffer.concat(got).toString(),
		bytes: () => got.reduce((n, b) => n + b.length, 0),
	};
}

const until = async (what: string, ok: () => boolean, ms = 3000) => {
	const deadline = Date.now() + ms;
	while (!ok()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 10));
	}
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the fault proxy, against an echo server", () => {
	let echo: { server: Server; port: number };
	let proxy: FaultProxy;
	const open: Socket[] = [];
	const connect = async () => {
		const c = client(proxy.port);
		open.push(c.socket);
		await c.connected;
		return c;
	};

	beforeAll(async () => {
		echo = await echoServer();
	});
	afterEach(async () => {
		for (const s of open.splice(0)) s.destroy();
		await proxy?.close();
	});
	afterAll(() => new Promise<void>((r) => echo.server.close(() => r())));

	it("forwards both ways while the network is up", async () => {
		proxy = await FaultProxy.start({ host: "127.0.0.1", port: echo.port });
		const c = await connect();
		c.socket.write("hello");
		await until("the echo", () => c.text() === "hello");
		expect(proxy.connections).toBe(1);
	});

	it("cuts every connection with an RST; with hold, resets new ones until restored", async () => {
		proxy = await FaultProxy.start({ host: "127.0.0.1", port: echo.port });
		const c = await connect();
		c.socket.write("x");
		await until("the echo", () => c.text() === "x");
		expect(proxy.cut({ hold: true })).toBe(1);
		await until("the reset", () => c.ended.closed);
		expect(c.ended.error).toBe("ECONNRESET");
		const refused = client(proxy.port);
		open.push(refused.socket);
		await until("the second reset", () => refused.ended.closed);
		expect(refused.ended.error).toBe("ECONNRESET");
		proxy.restore();
		const again = await connect();
		again.socket.write("back");
		await until("the echo after restore", () => again.text() === "back");
	});

	it("black-holes: nothing either way, new connections accepted but silent, no RST; restore delivers", async () => {
		proxy = await FaultProxy.start({ host: "127.0.0.1", port: echo.port });
		const c = await connect();
		proxy.blackhole();
		c.socket.write("lost?");
		const late = await connect(); // the TCP handshake completes, as with a black-holed server's kernel
		late.socket.write("late");
		await sleep(300);
		expect(c.text()).toBe("");
		expect(late.text()).toBe("");
		expect(c.ended).toEqual({ fin: false, error: "", closed: false });
		expect(late.ended.closed).toBe(false);
		proxy.restore();
		await until("the held data", () => c.text() === "lost?" && late.text() === "late");
	});

	it("adds latency each way, keeping the order", async () => {
		proxy = await FaultProxy.start({ host: "127.0.0.1", port: echo.port });
		const c = await connect();
		proxy.latency(150);
		const started = Date.now();
		c.socket.write("a");
		c.socket.write("b");
		await until("the echo", () => c.text() === "ab");
		// 150 ms there and 150 ms back
		expect(Date.now() - started).toBeGreaterThanOrEqual(290);
	});

	it("limits the bandwidth", async () => {
		proxy = await FaultProxy.start({ host: "127.0.0.1", port: echo.port });
		const c = await connect();
		proxy.bandwidth(100_000);
		const started = Date.now();
		c.socket.write(Buffer.alloc(50_000, 1));
		await until("the echo", () => c.bytes() === 50_000, 5000);
		// 50 kB at 100 kB/s each way: about 0.5 s (slices pipeline across the two directions)
		expect(Date.now() - started).toBeGreaterThanOrEqual(400);
	});

	it("closes half a connection: the client's side gets a FIN and can still send", async () => {
		proxy = await FaultProxy.start({ host: "127.0.0.1", port: echo.port });
		const c = await connect();
		proxy.halfClose("to-client");
		await until("the FIN", () => c.ended.fin);
		expect(c.ended.error).toBe("");
	});

	it("closes half a connection: the server gets a FIN, answers with its own", async () => {
		proxy = await FaultProxy.start({ host: "127.0.0.1", port: echo.port });
		const c = await connect();
		c.socket.write("before");
		await until("the echo", () => c.text() === "before");
		proxy.halfClose("to-server");
		// the echo server ends its side when the client's ends: the FIN comes back to the client
		await until("the FIN from the server", () => c.ended.fin);
		expect(c.text()).toBe("before");
	});
});
