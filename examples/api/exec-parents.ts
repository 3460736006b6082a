/**
 * Counts execs per parent process until Ctrl-C, with execsnoop's package:
 *   ./ecc examples/execsnoop/execsnoop.bpf.c examples/execsnoop/execsnoop.h
 *   sudo node exec-parents.js examples/execsnoop/package.json
 */
import { EcliError, exitCodeFor, openPackage } from 'ecli-ts';

/** The members of execsnoop.h's struct event that this program reads. */
interface ExecEvent {
  ppid: number;
  is_exit: boolean;
}

async function main(packagePath: string): Promise<void> {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  const pkg = await openPackage(packagePath);
  const session = await pkg.run({ signal: stop.signal });
  console.error(`counting execs of ${pkg.spec.objectName}; press Ctrl-C to print the counts`);
  const perParent = new Map<number, number>();
  // The loop ends when the signal aborts: the session is then closed and nothing stays attached.
  for await (const event of session.events<ExecEvent>()) {
    if (!event.is_exit) perParent.set(event.ppid, (perParent.get(event.ppid) ?? 0) + 1);
  }
  console.log('    PPID  EXECS');
  for (const [ppid, count] of [...perParent].sort((a, b) => b[1] - a[1])) {
    console.log(`${String(ppid).padStart(8)}  ${count}`);
  }
  const { received, lost, dropped } = session.stats;
  console.error(`${received} events received, ${lost} lost in the kernel, ${dropped} dropped`);
}

main(process.argv[2] ?? 'package.json').catch((error: unknown) => {
  console.error(`exec-parents: ${error instanceof EcliError ? `${error.message}${error.hint ? ` (${error.hint})` : ''}` : String(error)}`);
  process.exitCode = exitCodeFor(error);
});
