/** `ecli run <reference>`: the package layer of a registry artifact, as an input to resolve like a file. */
import { EcliError } from '../../errors.js';
import type { InputGate } from '../gate.js';
import { formatReference, hasOciPrefix, parseReference } from './reference.js';
import { pullPackage } from './transfer.js';

export interface RegistryInputOptions {
  maxBytes: number;
  timeoutMs: number;
  plainHttp: boolean;
  signal?: AbortSignal | undefined;
  onNotice?: (message: string) => void;
  /** Checks the manifest (its signature) before any layer is fetched. */
  gate?: InputGate;
}

export interface RegistryInput {
  /** The reference as the user wrote it: how messages name the input. */
  source: string;
  bytes: Uint8Array;
  /** The layer's file name, whose extension hints at the package type. */
  name: string;
}

/** Pulls `spec`; a tag's digest is told through onNotice, so that users can pin it. */
export async function pullForRun(spec: string, options: RegistryInputOptions): Promise<RegistryInput> {
  const ref = parseReference(spec);
  let pulled;
  try {
    const gate = options.gate;
    pulled = await pullPackage(ref, options.maxBytes, {
      plainHttp: options.plainHttp,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      ...(gate === undefined ? {} : { checkManifest: (client, digest) => gate({ kind: 'registry', reference: ref, digest, client }) }),
    });
  } catch (error) {
    // Nothing on disk has that name either: say so, in case a path was meant (not with oci://).
    if (error instanceof EcliError && error.code === 'NETWORK' && error.message.startsWith('cannot reach') && !hasOciPrefix(spec)) {
      throw new EcliError('NETWORK', `${error.message} (and there is no file named ${spec})`, { cause: error, ...(error.hint ? { hint: error.hint } : {}) });
    }
    throw error;
  }
  if (ref.digest === undefined) options.onNotice?.(`${formatReference(ref)} is ${formatReference({ ...ref, digest: pulled.digest })}`);
  return { source: spec, bytes: pulled.bytes, name: pulled.fileName };
}
