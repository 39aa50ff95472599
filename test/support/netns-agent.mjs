// Runs inside a network namespace for test/support/netns.ts (plain JS: node runs it directly).
//   listen tcp:22 udp:3478 ...   binds every port on all addresses (IPv4 and IPv6); each TCP
//                                connection gets "ok\n", each UDP datagram an "ok" reply; prints
//                                "ready" once everything is bound.
//   probe <json>                 [{ id, protocol, src, dst, port }]: connects from src to dst:port
//                                (all at once, each bounded by the timeout), prints
//                                { [id]: "open" | "closed" } as JSON.
import { createSocket } from "node:dgram";
import { createConnection, createServer } from "node:net";

const [mode, ...args] = process.argv.slice(2);
const TIMEOUT_MS = Number(process.env.PROBE_TIMEOUT_MS ?? 600);

async function listen(specs) {
  await Promise.all(
    specs.map((spec) => {
      const [protocol, port] = spec.split(":");
      return new Promise((resolve, reject) => {
        if (protocol === "tcp") {
          const server = createServer((socket) => socket.end("ok\n"));
          server.once("error", reject);
          server.listen({ port: Number(port), host: "::", ipv6Only: false }, resolve);
        } else {
          const socket = createSocket({ type: "udp6", ipv6Only: false });
          socket.on("message", (_msg, rinfo) => socket.send("ok", rinfo.port, rinfo.address));
          socket.once("error", reject);
          socket.bind(Number(port), "::", resolve);
        }
      });
    }),
  );
  process.stdout.write("ready\n");
}

function probeTcp({ src, dst, port }) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: dst, port, localAddress: src });
    const done = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done("closed"), TIMEOUT_MS);
    socket.once("data", () => done("open"));
    socket.once("error", () => done("closed"));
  });
}

function probeUdp({ src, dst, port }) {
  return new Promise((resolve) => {
    const socket = createSocket(dst.includes(":") ? "udp6" : "udp4");
    const done = (result) => {
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => done("closed"), TIMEOUT_MS);
    socket.once("message", () => done("open"));
    socket.once("error", () => done("closed"));
    socket.bind(0, src, () => socket.send("ping", port, dst));
  });
}

if (mode === "listen") {
  await listen(args);
} else if (mode === "probe") {
  const probes = JSON.parse(args[0]);
  const results = await Promise.all(probes.map((p) => (p.protocol === "tcp" ? probeTcp(p) : probeUdp(p)).then((r) => [p.id, r])));
  process.stdout.write(`${JSON.stringify(Object.fromEntries(results))}\n`);
} else {
  process.stderr.write("usage: netns-agent.mjs listen tcp:PORT... | probe JSON\n");
  process.exit(2);
}
