/**
 * The BPF object of a package spec, from open to close, shared by `ecli run` and the library
 * API: open it with the option images set, find what the meta names, check the host, load and
 * attach every program, open the event readers, close (detaching everything).
 */
import { EcliError } from '../errors.js';
import { PerfBufferReader, RingBufferReader } from '../loader/buffers.js';
import { BpfObject, type BpfMap, type BpfProgram } from '../loader/object.js';
import { checkPrivileges, ensureTracefs } from '../loader/probe.js';
import type { AttachMeta } from '../model/programs.js';
import type { PackageSpec } from '../model/spec.js';
import { startupMark } from '../startup-mark.js';
import type { SectionImage } from './prepare.js';
import type { RecordReaderOpener } from './session.js';

export interface PackageObjectOptions {
  /** libbpf's own messages on stderr, and full verifier logs in errors. */
  verbose: boolean;
  warn: (message: string) => void;
  btfCustomPath: string | undefined;
}

export class PackageObject {
  private readonly programs: { program: BpfProgram; attach: Readonly<AttachMeta> }[];

  private constructor(
    private readonly spec: PackageSpec,
    private readonly object: BpfObject,
  ) {
    this.programs = spec.programs.map((program) => ({ program: this.requireProgram(program.name), attach: program.attach }));
  }

  /** Opens the object and writes the option images; on failure nothing stays open. */
  static open(spec: PackageSpec, images: readonly SectionImage[], options: PackageObjectOptions): PackageObject {
    const object = BpfObject.open(spec.object, {
      objectName: spec.objectName,
      verbose: options.verbose,
      warn: options.warn,
      needsKernelBtf: spec.btfNeeds.kernelBtf,
      ...(options.btfCustomPath === undefined ? {} : { btfCustomPath: options.btfCustomPath }),
    });
    try {
      const opened = new PackageObject(spec, object);
      for (const { mapName, image } of images) object.setInitialValue(opened.map(mapName), image);
      return opened;
    } catch (error) {
      object.close();
      throw error;
    }
  }

  /** The map the meta names; a PACKAGE_INVALID error when the object lacks it. */
  map(name: string): BpfMap {
    return this.object.findMap(name) ?? missingFromObject('map', name, this.spec.source);
  }

  /** Privileges (the capabilities its program kinds need) and tracefs, before anything is loaded. */
  checkHost(): void {
    checkPrivileges(this.spec.programs.map((program) => program.kind));
    ensureTracefs();
  }

  loadAndAttach(): void {
    this.object.load();
    startupMark('loaded');
    for (const { program, attach } of this.programs) this.object.attach(program, attach);
    startupMark('attached');
  }

  /** The reader of an exported ring buffer or perf event array. */
  recordReader(mapName: string, transport: 'ringbuf' | 'perf_event_array'): RecordReaderOpener {
    const map = this.map(mapName);
    if (transport === 'ringbuf') return ({ onRecord }) => new RingBufferReader(map, { onRecord });
    const pages = this.spec.perfBufferPages;
    return ({ onRecord, onLost }) => new PerfBufferReader(map, { pages, onRecord, onLost: (_cpu, count) => onLost(count) });
  }

  /** Closes the object (detaching everything); returns what could not be detached. */
  close(): Error | undefined {
    try {
      this.object.close();
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private requireProgram(name: string): BpfProgram {
    return this.object.findProgram(name) ?? missingFromObject('program', name, this.spec.source);
  }
}

function missingFromObject(what: 'map' | 'program', name: string, source: string): never {
  throw new EcliError('PACKAGE_INVALID', `${source}: ${what} ${name} is listed in the meta but not in the BPF object`, {
    hint: 'the meta and the object come from different builds; recompile with ./ecc',
  });
}
