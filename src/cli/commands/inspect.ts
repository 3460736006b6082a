/** `ecli inspect <package>`: print what a package holds, as tables or JSON. */
import { inspectPackage, renderInspect } from '../../distribute/inspect.js';
import { resolvePackageSource, type ResolveOptions } from '../../distribute/source.js';
import type { CommandIo } from './io.js';

export interface InspectOptions extends ResolveOptions {
  json?: boolean;
}

export async function runInspect(spec: string, opts: InspectOptions, io: CommandIo): Promise<void> {
  const { json, ...resolveOptions } = opts;
  const resolved = await resolvePackageSource(spec, resolveOptions);
  try {
    io.stdout.write(renderInspect(inspectPackage(resolved), { json: json === true }));
  } finally {
    resolved.btfArchive?.cleanup();
  }
}
