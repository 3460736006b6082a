/**
 * Prints the ten most opened files every second until Ctrl-C, with opensnoop's package:
 *   ./ecc examples/opensnoop/opensnoop.bpf.c examples/opensnoop/opensnoop.h
 *   sudo node top-opens.js examples/opensnoop/package.json
 */
import { EcliError, exitCodeFor, openPackage } from 'ecli-ts';

/** The member of opensnoop.h's struct event that this program reads. */
interface OpenEvent {
  fname: string;
}

const TOP = 10;

async function main(packagePath: string): Promise<void> {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  const pkg = await openPackage(packagePath);
  const session = await pkg.run({ signal: stop.signal });
  let opens = new Map<string, number>();
  const timer = setInterval(() => {
    const top = [...opens].sort((a, b) => b[1] - a[1]).slice(0, TOP);
    opens = new Map();
    console.log(`--- ${new Date().toISOString()}`);
    for (const [file, count] of top) console.log(`${String(count).padStart(6)}  ${file}`);
  }, 1000);
  try {
    for await (const event of session.events<OpenEvent>()) opens.set(event.fname, (opens.get(event.fname) ?? 0) + 1);
  } finally {
    clearInterval(timer);
  }
  console.error(`${session.stats.received} opens seen, ${session.stats.dropped} dropped`);
}

main(process.argv[2] ?? 'package.json').catch((error: unknown) => {
  console.error(`top-opens: ${error instanceof EcliError ? `${error.message}${error.hint ? ` (${error.hint})` : ''}` : String(error)}`);
  process.exitCode = exitCodeFor(error);
});
