// Runs inside a container's network namespace for test/support/docker-engine.ts (plain JS: node
// runs it directly under `nsenter --net`): listens on a Unix socket (a path on this machine's
// file system, which network namespaces do not separate) and connects each client to
// 127.0.0.1:<port> of the namespace it runs in. Prints "ready" once listening.
//   node netns-forward.mjs <socket path> <port>
import { connect, createServer } from "node:net";

const [path, port] = process.argv.slice(2);
const server = createServer((client) => {
  const upstream = connect(Number(port), "127.0.0.1");
  client.pipe(upstream).pipe(client);
  const end = () => {
    client.destroy();
    upstream.destroy();
  };
  client.once("error", end).once("close", end);
  upstream.once("error", end).once("close", end);
});
server.listen(path, () => process.stdout.write("ready\n"));
process.once("SIGTERM", () => process.exit(0));
