/**
 * The hook that checks an input before any of it is decoded: a signature gate (src/signing)
 * plugs in here. Registry inputs are checked once their manifest is fetched and before any
 * layer is; the others once their bytes are read; a C source before it is compiled.
 */
import type { RegistryClient } from './registry/client.js';
import type { RegistryReference } from './registry/reference.js';

export type InputToCheck =
  | {
      kind: 'registry';
      /** The repository (tag and digest as the user wrote them). */
      reference: RegistryReference;
      /** The sha256 of the manifest's bytes, as fetched. */
      digest: string;
      /** The session that fetched it, for reading what is stored beside it. */
      client: RegistryClient;
    }
  | { kind: 'file'; path: string; bytes: Uint8Array }
  | { kind: 'url'; url: string; bytes: Uint8Array }
  /** stdin, or bytes handed to the library: nothing tells where a signature would be. */
  | { kind: 'bytes'; source: string; bytes: Uint8Array }
  /**
   * A C source `ecli run` would compile, checked before the compiler sees it: nothing signs what
   * it compiles to (the headers it includes, the toolchain), so only a rule letting files run
   * unsigned lets it through.
   */
  | { kind: 'source'; path: string };

/** Resolves when the input may be used; throws a typed error (nothing of it decoded) when not. */
export type InputGate = (input: InputToCheck) => Promise<void>;
