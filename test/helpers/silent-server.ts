/** A TCP server on 127.0.0.1 that accepts connections and never says a word: a registry or URL that hangs. */
import type { TestContext } from 'node:test';
import { createServer, type AddressInfo, type Socket } from 'node:net';

/** Listens on a free port, returned; closed with its connections after the test. */
export async function silentServer(t: TestContext): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    sockets.forEach((s) => s.destroy());
    server.close();
  });
  return (server.address() as AddressInfo).port;
}
