/**
 * The BPF objects a Wasm guest loads, owned by the main thread from load to close. An object
 * the guest hands in gets what a JSON package's object gets: the same model (its ELF and BTF
 * checked, its programs and maps read as ecc's skeleton reads them), the same privilege and
 * kernel checks, libbpf's load with the same diagnoses. A refusal is told on stderr, and the
 * guest gets the ABI's failure value; it decides what to do. closeAll() detaches whatever the
 * guest left loaded, however the run ended.
 */
import { Btf } from '../btf/btf.js';
import { buildSkeleton } from '../compiler/skeleton.js';
import { sanitizeIdentifier } from '../compiler/naming.js';
import { findSection, parseElf } from '../elf/elf.js';
import { EcliError } from '../errors.js';
import { OpenedObject, type BpfMap, type LoadedObject, type LoadedProgram } from '../loader/object.js';
import { native } from '../loader/ffi/libbpf.js';
import { checkPrivileges, ensureTracefs } from '../loader/probe.js';
import { btfNeedsOf, type BtfNeeds } from '../model/btf-needs.js';
import { mapSpecs, type MapSpec } from '../model/maps.js';
import { programSpecs, type AttachMeta, type ProgramSpec } from '../model/programs.js';
import { constants } from 'node:os';
import type { GuestMap } from './host-imports.js';

const { EINVAL, EIO, ENODEV, ENOENT, EOPNOTSUPP } = constants.errno;

export interface GuestObjectsOptions {
  /** The module, as messages name it. */
  source: string;
  /** The libbpf object name of every object (internal maps are named after it). */
  objectName: string;
  verbose: boolean;
  btfCustomPath: string | undefined;
  /** One line for stderr (ecli prefixes and escapes it). */
  notice(message: string): void;
  /** A refusal, told with its hint (and its detail with --verbose). */
  report(error: EcliError): void;
}

interface GuestObject {
  spec: GuestObjectSpec;
  object: LoadedObject;
}

/** Sections the guest must give a target for: an interface (xdp) or a cgroup (sockops). */
const TARGETED = { xdp: 'an interface name', sockops: 'a cgroup directory' } as const;

export class GuestObjects {
  private readonly objects = new Map<bigint, GuestObject>();
  private nextHandle = 1n;

  constructor(private readonly options: GuestObjectsOptions) {}

  get loaded(): number {
    return this.objects.size;
  }

  /** Checks and loads an object; undefined when refused (and said why). */
  load(bytes: Uint8Array): { handle: bigint; maps: GuestMap[] } | undefined {
    const { options } = this;
    const source = `${options.source}: the BPF object of wasm_load_bpf_object`;
    try {
      const spec = guestObjectSpec(bytes, source, options.objectName);
      checkPrivileges(spec.programs.map((p) => p.kind));
      if (spec.programs.some((p) => p.kind === 'tracepoint')) ensureTracefs();
      const opened = OpenedObject.open(spec.object, {
        objectName: spec.objectName,
        verbose: options.verbose,
        warn: options.notice,
        needsKernelBtf: spec.btfNeeds.kernelBtf,
        btfCustomPath: options.btfCustomPath,
      });
      // load() frees the object when it fails.
      const object = opened.load();
      const handle = this.nextHandle++;
      this.objects.set(handle, { spec, object });
      return { handle, maps: object.maps.map(guestMap) };
    } catch (error) {
      if (!(error instanceof EcliError)) throw error;
      options.report(error);
      return undefined;
    }
  }

  /** 0, or a negative errno (after saying why). */
  attach(handle: bigint, programName: string, target: string | undefined): number {
    const loaded = this.objects.get(handle);
    if (loaded === undefined) return -EINVAL;
    const program = loaded.object.findProgram(programName);
    if (program === undefined) {
      this.options.notice(`${this.options.source}: wasm_attach_bpf_program: the object has no program named ${programName}`);
      return -ENOENT;
    }
    const needs = Object.hasOwn(TARGETED, program.sectionName) ? TARGETED[program.sectionName as keyof typeof TARGETED] : undefined;
    if (needs !== undefined && target === undefined) {
      this.options.notice(
        `${this.options.source}: program ${program.name} (SEC("${program.sectionName}")) attaches to ${needs}, and the guest gave none (bpf_set_prog_attach_target)`,
      );
      return -EOPNOTSUPP;
    }
    const meta = needs === undefined ? {} : this.targetMeta(program, target!);
    if (typeof meta === 'number') return meta;
    try {
      loaded.object.attach(program, meta);
    } catch (error) {
      if (!(error instanceof EcliError)) throw error;
      this.options.report(error);
      return -EINVAL;
    }
    this.options.notice(`${loaded.spec.objectName}: program ${program.name} attached${target === undefined ? '' : ` to ${target}`}`);
    return 0;
  }

  /** Detaches the object's programs and frees it; 0, or -EIO when something could not be detached (and said what). */
  close(handle: bigint): number {
    const loaded = this.objects.get(handle);
    if (loaded === undefined) return 0;
    this.objects.delete(handle);
    try {
      loaded.object.close();
      return 0;
    } catch (error) {
      if (!(error instanceof EcliError)) throw error;
      this.options.report(error);
      return -EIO;
    }
  }

  /** Closes every object still loaded, newest first; returns the detach failures, if any. */
  closeAll(): EcliError | undefined {
    const failures: EcliError[] = [];
    for (const handle of [...this.objects.keys()].reverse()) {
      const loaded = this.objects.get(handle)!;
      this.objects.delete(handle);
      try {
        loaded.object.close();
      } catch (error) {
        failures.push(error instanceof EcliError ? error : new EcliError('RUNTIME', String(error)));
      }
    }
    if (failures.length === 0) return undefined;
    return failures.length === 1 ? failures[0] : new EcliError('RUNTIME', failures.map((f) => f.message).join('; '));
  }

  /** The attach meta a target gives, or a negative errno (after saying why). */
  private targetMeta(program: LoadedProgram, target: string): AttachMeta | number {
    if (program.sectionName === 'sockops') return { cgroup: target };
    const ifindex = native().interfaceIndex(target);
    if (ifindex === 0) {
      this.options.notice(`${this.options.source}: program ${program.name}: there is no network interface named ${target}`);
      return -ENODEV;
    }
    return { ifindex };
  }
}

/** What ecli knows of an object a guest hands in before it reaches libbpf. */
export interface GuestObjectSpec {
  readonly objectName: string;
  readonly object: Uint8Array;
  readonly programs: readonly ProgramSpec[];
  readonly maps: readonly MapSpec[];
  readonly btfNeeds: BtfNeeds;
}

/**
 * The model of a bare object, by the steps a package's takes (without its meta's exports and
 * options, which a guest's object has none of): ELF, BTF checked like the kernel checks it, the
 * skeleton ecc would write for it, its programs and its map definitions. Throws the typed errors
 * a JSON package's object gets.
 */
function guestObjectSpec(bytes: Uint8Array, source: string, objectName: string): GuestObjectSpec {
  const elf = parseElf(bytes, source);
  const btfSection = findSection(elf, '.BTF');
  if (btfSection === undefined) {
    throw new EcliError('BTF_INVALID', `${source} has no .BTF section`, { hint: 'compile the BPF program with clang -g, as ecc does' });
  }
  const btf = Btf.parse(btfSection.data);
  const skeleton = buildSkeleton(elf, btf, objectName);
  const programs = programSpecs(skeleton.progs);
  return Object.freeze({
    objectName,
    object: bytes,
    programs,
    maps: mapSpecs(skeleton.maps, btf, elf, source),
    btfNeeds: btfNeedsOf(elf, programs),
  });
}

/** A libbpf object name for a module: `execve.wasm` → `execve`. */
export function guestObjectName(moduleName: string): string {
  const base = moduleName.split('/').pop() ?? moduleName;
  const name = sanitizeIdentifier(base.replace(/\.wasm$/i, '')).slice(0, 15);
  return name === '' ? 'wasm_guest' : name;
}

function guestMap(map: BpfMap): GuestMap {
  return {
    name: map.name,
    fd: map.fd,
    typeName: map.typeName,
    keySize: map.keySize,
    valueBufferSize: map.valueBufferSize(),
    maxEntries: map.maxEntries,
  };
}
