/**
 * The BPF object of a package spec, for the run engine: open it with the option images set and
 * check that it has what the meta names (OpenedPackage), check the host, load it, attach every
 * program with its meta and open the readers of its exports (LoadedPackage), close (detaching
 * everything).
 */
import { EcliError } from '../errors.js';
import { PerfBufferReader, RingBufferReader } from '../loader/buffers.js';
import { OpenedObject, type BpfMap, type LoadedObject, type OpenMap } from '../loader/object.js';
import { checkPrivileges, ensureTracefs } from '../loader/probe.js';
import type { EventExportSpec } from '../model/exports.js';
import { libbpfRefusal } from '../model/programs.js';
import type { PackageSpec } from '../model/spec.js';
import { startupMark } from '../startup-mark.js';
import type { LoadSettings, LoadedRunObject, OpenedRunObject, RecordReaderOpener } from './engine.js';
import type { SampleSource } from './sampler.js';

export class OpenedPackage implements OpenedRunObject {
  private constructor(
    private readonly spec: PackageSpec,
    private readonly object: OpenedObject,
  ) {}

  /** Opens the object and writes the option images; on failure nothing stays open. */
  static open(spec: PackageSpec, settings: LoadSettings, warn: (message: string) => void): OpenedPackage {
    const object = OpenedObject.open(spec.object, {
      objectName: spec.objectName,
      verbose: settings.verbose,
      warn,
      needsKernelBtf: spec.btfNeeds.kernelBtf,
      btfCustomPath: settings.btfCustomPath,
    });
    if (settings.verbose) warn(`libbpf ${object.libbpf.major}.${object.libbpf.minor} (${object.libbpf.library})`);
    try {
      const mapNamed = (name: string): OpenMap => object.findMap(name) ?? missingFromObject('map', name, spec.source);
      for (const program of spec.programs) if (object.findProgram(program.name) === undefined) missingFromObject('program', program.name, spec.source);
      for (const { map } of spec.exports) mapNamed(map.name);
      for (const { mapName, image } of settings.images) mapNamed(mapName).setInitialValue(image);
      for (const map of spec.maps) if (map.loaderSizes !== undefined) mapNamed(map.name).setSizes(map.loaderSizes);
      return new OpenedPackage(spec, object);
    } catch (error) {
      object.close();
      throw error;
    }
  }

  /** The libbpf release its sections need, privileges (the capabilities its program kinds need) and tracefs, before anything is loaded. */
  checkHost(): void {
    const refusal = libbpfRefusal(this.spec.programs, this.object.libbpf);
    if (refusal !== undefined) throw refusal;
    checkPrivileges(this.spec.programs.map((program) => program.kind));
    ensureTracefs();
  }

  /** Creates the maps and loads the programs; when that fails, the object is already freed. */
  load(): LoadedPackage {
    const loaded = this.object.load();
    startupMark('loaded');
    return new LoadedPackage(this.spec, loaded);
  }

  close(): void {
    this.object.close();
  }
}

export class LoadedPackage implements LoadedRunObject {
  constructor(
    private readonly spec: PackageSpec,
    private readonly object: LoadedObject,
  ) {}

  /** Attaches every program with its meta, in the package's order. */
  attachAll(): void {
    for (const program of this.spec.programs) {
      this.object.attach(this.object.findProgram(program.name) ?? missingFromObject('program', program.name, this.spec.source), program.attach);
    }
    startupMark('attached');
  }

  readIterator(program: string, onChunk: (bytes: Uint8Array) => void): void {
    this.object.readIterator(program, onChunk);
  }

  /** The reader of an exported ring buffer or perf event array. */
  recordReader(exported: EventExportSpec): RecordReaderOpener {
    const map = this.map(exported.map.name);
    if (exported.transport === 'ringbuf') return ({ onRecord }) => new RingBufferReader(map, { onRecord });
    const pages = this.spec.perfBufferPages;
    return ({ onRecord, onLost }) => new PerfBufferReader(map, { pages, onRecord, onLost: (_cpu, count) => onLost(count) });
  }

  sampleSource(mapName: string): SampleSource {
    return this.map(mapName);
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

  private map(name: string): BpfMap {
    return this.object.findMap(name) ?? missingFromObject('map', name, this.spec.source);
  }
}

function missingFromObject(what: 'map' | 'program', name: string, source: string): never {
  throw new EcliError('PACKAGE_INVALID', `${source}: ${what} ${name} is listed in the meta but not in the BPF object`, {
    hint: 'the meta and the object come from different builds; recompile with ./ecc',
  });
}
