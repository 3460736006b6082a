/**
 * A BPF object in the kernel, with a type for each state (as libbpf-rs has OpenObject and
 * Object):
 *
 *   OpenedObject.open(elf)   libbpf parses the ELF; nothing reaches the kernel yet. Its maps are
 *                            OpenMaps: sizes, and the initial images of .rodata/.bss to set.
 *   opened.load()            maps created, CO-RE relocated, the verifier run → a LoadedObject.
 *                            The opened object is spent: the loaded one owns every handle.
 *   LoadedObject             attach(program), maps as BpfMaps (fd, lookup, walk, take);
 *                            close() detaches everything, newest first, and frees the object.
 *
 * Setting an initial value after load, attaching before it, or reading a map's fd before it
 * cannot be written: those methods exist only on the state that allows them. What types cannot
 * catch (a reference kept to a spent or closed object) is an INTERNAL error.
 *
 * Every native call goes through a Native (the system's libbpf unless a test hands in a fake).
 */
import { KERNEL_BTF_PATH } from '../btf/kernel-btf-path.js';
import { isArrayMapType, isPerCpuMapType, mapTypeName } from '../model/map-types.js';
import { EcliError } from '../errors.js';
import { escapeControls } from '../terminal.js';
import { ATTACH_FACTS, attachProgram } from './attach.js';
import { attachIterator, type IteratorLink } from './iterator.js';
import { type AttachKind, attachKindOf } from '../model/attach-kind.js';
import type { AttachMeta, Attachment } from './attachment.js';
import { type LoadFacts, type ProgramIdentity, diagnoseLoadFailure } from './diagnose.js';
import { EINVAL, ENOENT, EOPNOTSUPP, describeErrno, errnoName } from './ffi/errno.js';
import { native } from './ffi/libbpf.js';
import type { LibbpfIdentity, Native, Pointer } from './ffi/native.js';
import { type LibbpfLogCapture, captureLibbpfLog } from './log.js';
import { hasVmlinuxBtf, isBpfLsmEnabled, lockdownLevel, processCapabilities, probeTrampolines } from './probe.js';
import { usesNarrowArithmetic } from '../model/instructions.js';
import { libbpfKnowsSection } from '../model/section-defs.js';
import { tcxDirectionOf } from '../model/tc-hook.js';
import { BPF_PROG_TYPE_SCHED_CLS, tcxAttachType } from './tcx-attr.js';

export type { AttachMeta } from './attachment.js';

export interface ObjectOpenOptions {
  objectName: string;
  btfCustomPath?: string | undefined;
  /** Echo all of libbpf's messages (debug level included) to stderr. */
  verbose?: boolean;
  /** The object needs the kernel's BTF (model/btf-needs.ts): refused with a clear error when it is missing. */
  needsKernelBtf?: boolean;
  /** Where non-fatal warnings go (e.g. a perf_event falling back to software); stderr by default. */
  warn?: (message: string) => void;
  /** The kernel side; the system's libbpf by default. */
  sys?: Native;
}

const LOAD_FACTS: LoadFacts = {
  capabilities: processCapabilities,
  trampolines: probeTrampolines,
  bpfLsm: isBpfLsmEnabled,
  lockdown: lockdownLevel,
};

/** The native side of one object, handed from the opened state to the loaded one. */
interface ObjectHandles {
  readonly name: string;
  readonly sys: Native;
  readonly handle: Pointer;
  readonly elfMemory: Pointer;
  readonly log: LibbpfLogCapture;
  readonly options: ObjectOpenOptions;
}

function freeObject(handles: ObjectHandles): void {
  handles.sys.libbpf.bpf_object__close(handles.handle);
  handles.sys.free(handles.elfMemory);
  handles.log.release();
}

/** An object libbpf has parsed, not yet loaded: set initial values, then load(). */
export class OpenedObject {
  readonly maps: readonly OpenMap[];
  readonly programs: readonly BpfProgram[];
  private state: 'open' | 'loaded' | 'closed' = 'open';

  private constructor(private readonly handles: ObjectHandles) {
    const { libbpf } = handles.sys;
    const { handle, sys } = handles;
    const maps: OpenMap[] = [];
    for (let map = libbpf.bpf_object__next_map(handle, null); map !== null; map = libbpf.bpf_object__next_map(handle, map)) maps.push(new OpenMap(sys, map));
    const programs: BpfProgram[] = [];
    for (let prog = libbpf.bpf_object__next_program(handle, null); prog !== null; prog = libbpf.bpf_object__next_program(handle, prog)) {
      programs.push(new BpfProgram(sys, prog));
    }
    this.maps = maps;
    this.programs = programs;
  }

  /** Opens an ELF object (nothing reaches the kernel yet). */
  static open(elf: Uint8Array, options: ObjectOpenOptions): OpenedObject {
    const sys = options.sys ?? native();
    const log = captureLibbpfLog({ verbose: options.verbose ?? false }, sys);
    // libbpf may keep pointing into the ELF image, so it lives in memory that never moves.
    const memory = sys.allocCopy(elf);
    const mark = log.mark();
    const opened = sys.libbpf.bpf_object__open_mem(memory, elf.length, {
      object_name: options.objectName,
      btf_custom_path: options.btfCustomPath ?? null,
    });
    if (opened.ptr === null) {
      const reason = log
        .since(mark)
        .find((m) => m.level === 'warn')
        ?.text.replace(/^libbpf: /, '');
      sys.free(memory);
      log.release();
      throw new EcliError(
        'PACKAGE_INVALID',
        `cannot open the BPF object ${options.objectName}: ${errnoName(opened.errno)}: ${reason ?? describeErrno(opened.errno)}`,
        { hint: 'the package is damaged or was not written by ecc; rebuild it with ./ecc' },
      );
    }
    const object = new OpenedObject({ name: options.objectName, sys, handle: opened.ptr, elfMemory: memory, log, options });
    object.programs.forEach((program) => setTypeLibbpfDoesNotKnow(sys, program));
    return object;
  }

  get name(): string {
    return this.handles.name;
  }

  /** The libbpf that opened it. */
  get libbpf(): LibbpfIdentity {
    return this.handles.sys.libbpfIdentity;
  }

  findMap(name: string): OpenMap | undefined {
    return this.maps.find((map) => map.name === name);
  }

  findProgram(name: string): BpfProgram | undefined {
    return this.programs.find((program) => program.name === name);
  }

  /**
   * Creates the maps and loads every program (CO-RE relocation, verifier). This object is spent
   * afterwards, also when loading fails (libbpf cannot load an object twice): a failed load
   * frees it before throwing.
   */
  load(): LoadedObject {
    this.assertOpen('load()');
    const { name, options, sys, handle, log } = this.handles;
    this.state = 'loaded';
    try {
      if (options.needsKernelBtf === true && options.btfCustomPath === undefined && !hasVmlinuxBtf()) {
        throw new EcliError('KERNEL_UNSUPPORTED', `${name} needs the kernel's BTF (for CO-RE), but ${KERNEL_BTF_PATH} is missing`, {
          hint: 'set BTF_FILE_PATH to a BTF file for this kernel (for example from btfhub-archive)',
        });
      }
      const mark = log.mark();
      const error = sys.libbpf.bpf_object__load(handle);
      if (error < 0) {
        throw diagnoseLoadFailure(
          {
            objectName: name,
            error,
            warnings: log
              .since(mark)
              .filter((message) => message.level === 'warn')
              .map((message) => message.text),
            programs: this.programs.map((program) => program.info),
            maps: this.maps.map((map) => ({ name: map.name, typeName: map.typeName })),
            printed: log.verbose,
          },
          LOAD_FACTS,
        );
      }
    } catch (error) {
      freeObject(this.handles);
      throw error;
    }
    return new LoadedObject(this.handles, this.maps, this.programs);
  }

  /** Frees the object without loading it. Idempotent; nothing to do once it was loaded (the loaded object owns it). */
  close(): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    freeObject(this.handles);
  }

  private assertOpen(what: string): void {
    if (this.state !== 'open')
      throw new EcliError('INTERNAL', `BPF object ${this.handles.name}: ${what} after ${this.state === 'loaded' ? 'load()' : 'close()'}`);
  }
}

/** A loaded object: attach its programs, read its maps; close() detaches and frees everything. */
export class LoadedObject {
  readonly maps: readonly BpfMap[];
  readonly programs: readonly LoadedProgram[];
  private readonly attachments: Attachment[] = [];
  private readonly iterators = new Map<string, IteratorLink>();
  private closed = false;

  /** @internal made by OpenedObject.load() */
  constructor(
    private readonly handles: ObjectHandles,
    maps: readonly OpenMap[],
    programs: readonly BpfProgram[],
  ) {
    const { sys } = handles;
    this.maps = maps.map((map) => BpfMap.ofObject(sys, map));
    this.programs = programs.map((program) => new LoadedProgram(sys, program));
  }

  get name(): string {
    return this.handles.name;
  }

  findMap(name: string): BpfMap | undefined {
    return this.maps.find((map) => map.name === name);
  }

  findProgram(name: string): LoadedProgram | undefined {
    return this.programs.find((program) => program.name === name);
  }

  /** Attaches a program of this object; the object keeps what attaching created until close(). */
  attach(program: LoadedProgram, meta: AttachMeta = {}): void {
    if (this.closed) throw new EcliError('INTERNAL', `BPF object ${this.handles.name}: attach() after close()`);
    const { sys, log, options } = this.handles;
    const warn = options.warn ?? ((message: string) => process.stderr.write(`warning: ${escapeControls(message)}\n`));
    if (program.kind === 'iter') {
      const iterator = attachIterator(program.target, { sys, log, warn }, ATTACH_FACTS);
      this.attachments.push(iterator.attachment);
      this.iterators.set(program.name, iterator);
      return;
    }
    this.attachments.push(...attachProgram(program.target, meta, { sys, log, warn }));
  }

  /** Runs one pass of an attached iterator program, handing its text to `onChunk` as it is read. */
  readIterator(programName: string, onChunk: (bytes: Uint8Array) => void): void {
    if (this.closed) throw new EcliError('INTERNAL', `BPF object ${this.handles.name}: readIterator() after close()`);
    const iterator = this.iterators.get(programName);
    if (iterator === undefined) throw new EcliError('INTERNAL', `program ${programName} is not an attached iterator`);
    iterator.readPass(onChunk);
  }

  /**
   * Detaches everything (links, XDP, TC filters, perf events), newest first, and frees the
   * object. Idempotent. Close buffer readers on this object's maps first. A detach that fails
   * does not stop the others: the failures are thrown together at the end (RUNTIME).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const failures: EcliError[] = [];
    for (const attachment of this.attachments.reverse()) {
      try {
        attachment.detach();
      } catch (error) {
        failures.push(error instanceof EcliError ? error : new EcliError('RUNTIME', `cannot detach ${attachment.description}: ${String(error)}`));
      }
    }
    this.attachments.length = 0;
    freeObject(this.handles);
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      const hints = failures.flatMap((failure) => (failure.hint === undefined ? [] : [failure.hint]));
      throw new EcliError('RUNTIME', failures.map((failure) => failure.message).join('; '), hints.length > 0 ? { hint: hints.join('; ') } : {});
    }
  }
}

/** libbpf 1.1 and 1.2 predate TCX: give `tcx/ingress` and `tcx/egress` programs their type before load (1.3+ does it itself). */
function setTypeLibbpfDoesNotKnow(sys: Native, program: BpfProgram): void {
  const direction = tcxDirectionOf(program.sectionName);
  if (direction === undefined || libbpfKnowsSection(sys.libbpfIdentity, program.sectionName)) return;
  sys.libbpf.bpf_program__set_type(program.handle, BPF_PROG_TYPE_SCHED_CLS);
  sys.libbpf.bpf_program__set_expected_attach_type(program.handle, tcxAttachType(direction));
}

/** A program of an opened object: what its section says. */
export class BpfProgram {
  readonly name: string;
  readonly sectionName: string;
  readonly kind: AttachKind;
  /** It computes or compares in 32-bit subregisters (compiled for -mcpu=v3 or later): for the verifier's messages. */
  readonly narrowArithmetic: boolean;

  /** @internal libbpf's handle; valid until the object closes. */
  constructor(
    sys: Native,
    readonly handle: Pointer,
  ) {
    this.name = sys.libbpf.bpf_program__name(handle);
    this.sectionName = sys.libbpf.bpf_program__section_name(handle);
    this.kind = attachKindOf(this.sectionName);
    this.narrowArithmetic = usesNarrowArithmetic(instructionsOf(sys, handle));
  }

  get info(): ProgramIdentity {
    return { name: this.name, sectionName: this.sectionName, kind: this.kind, narrowArithmetic: this.narrowArithmetic };
  }
}

function instructionsOf(sys: Native, handle: Pointer): Uint8Array {
  const insns = sys.libbpf.bpf_program__insns(handle);
  const bytes = new Uint8Array(insns === null ? 0 : sys.libbpf.bpf_program__insn_cnt(handle) * 8);
  if (insns !== null && bytes.length > 0) sys.copyInto(bytes, insns, bytes.length);
  return bytes;
}

/** A program of a loaded object: it has an fd, and LoadedObject.attach() takes it. */
export class LoadedProgram {
  readonly name: string;
  readonly sectionName: string;
  readonly kind: AttachKind;
  readonly fd: number;
  /** @internal what the attachers need */
  readonly target: { handle: Pointer; fd: number; info: ProgramIdentity };

  /** @internal */
  constructor(sys: Native, program: BpfProgram) {
    this.name = program.name;
    this.sectionName = program.sectionName;
    this.kind = program.kind;
    this.fd = sys.libbpf.bpf_program__fd(program.handle);
    this.target = { handle: program.handle, fd: this.fd, info: program.info };
  }

  get info(): ProgramIdentity {
    return this.target.info;
  }
}

/** Sizes and type of a map, as libbpf reports them (before load: as declared; after: as created). */
export interface MapShape {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
}

function shapeOf(sys: Native, name: string, handle: Pointer): MapShape {
  const { libbpf } = sys;
  return {
    name,
    type: libbpf.bpf_map__type(handle),
    keySize: libbpf.bpf_map__key_size(handle),
    valueSize: libbpf.bpf_map__value_size(handle),
    maxEntries: libbpf.bpf_map__max_entries(handle),
    btfKeyTypeId: libbpf.bpf_map__btf_key_type_id(handle),
    btfValueTypeId: libbpf.bpf_map__btf_value_type_id(handle),
  };
}

/** A map of an opened object: its declared shape, and the initial image of an internal map. */
export class OpenMap implements MapShape {
  readonly name: string;
  readonly type: number;
  /** libbpf's name for the type: 'hash', 'array', 'perf_event_array', 'ringbuf', ... */
  readonly typeName: string;
  readonly keySize: number;
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;

  /** @internal libbpf's handle; valid until the object closes. */
  constructor(
    private readonly sys: Native,
    readonly handle: Pointer,
  ) {
    const shape = shapeOf(sys, sys.libbpf.bpf_map__name(handle), handle);
    this.name = shape.name;
    this.type = shape.type;
    this.typeName = mapTypeName(shape.type);
    this.keySize = shape.keySize;
    this.btfKeyTypeId = shape.btfKeyTypeId;
    this.btfValueTypeId = shape.btfValueTypeId;
  }

  /** As libbpf holds it now: setSizes() may change it before load. */
  get valueSize(): number {
    return this.sys.libbpf.bpf_map__value_size(this.handle);
  }

  get maxEntries(): number {
    return this.sys.libbpf.bpf_map__max_entries(this.handle);
  }

  /** Replaces an internal map's (.rodata/.data/.bss) initial image, which load() writes into the map. */
  setInitialValue(bytes: Uint8Array): void {
    if (bytes.length !== this.valueSize) {
      throw new EcliError('BTF_INVALID', `the initial value for map ${this.name} is ${bytes.length} bytes but the map holds ${this.valueSize}`);
    }
    const error = this.sys.libbpf.bpf_map__set_initial_value(this.handle, bytes, bytes.length);
    if (error < 0) {
      throw new EcliError('INTERNAL', `cannot set the initial value of map ${this.name}: ${describeErrno(error)}`);
    }
  }

  /** A copy of libbpf's initial image of an internal map (.rodata/.bss); undefined for others. */
  readInitialValue(): Uint8Array | undefined {
    return this.sys.mapInitialValue(this.handle);
  }

  /** Sets sizes its definition left out (loader-set sizes: a stack trace map's), before load. */
  setSizes(sizes: { valueSize?: number | undefined; maxEntries?: number | undefined }): void {
    const { libbpf } = this.sys;
    const results = [
      sizes.valueSize === undefined ? 0 : libbpf.bpf_map__set_value_size(this.handle, sizes.valueSize),
      sizes.maxEntries === undefined ? 0 : libbpf.bpf_map__set_max_entries(this.handle, sizes.maxEntries),
    ];
    const error = results.find((result) => result < 0);
    if (error !== undefined) throw new EcliError('INTERNAL', `cannot set the sizes of map ${this.name}: ${describeErrno(error)}`);
  }
}

/** Entries read by one BPF_MAP_LOOKUP_BATCH call. */
const BATCH_ENTRIES = 4096;
/** The kernel's own "not supported" (not in libc's errno list), and "no room" for a hash bucket larger than a batch. */
const ENOTSUPP = 524;
const ENOSPC = 28;

/**
 * A map in the kernel, reached by its fd: lookups, walks, deletes and clearing. A loaded
 * object's maps are BpfMaps; so is any map fd with its shape (BpfMap.fromFd), for callers
 * without an object of their own (a Wasm guest's maps).
 */
export class BpfMap implements MapShape {
  readonly name: string;
  readonly type: number;
  /** libbpf's name for the type: 'hash', 'array', 'perf_event_array', 'ringbuf', ... */
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
  /** Values hold one round_up(valueSize, 8)-byte slot per possible CPU. */
  readonly perCpu: boolean;
  private readonly possibleCpus: number;
  /** The kernel refused BPF_MAP_LOOKUP_BATCH for this map (its type, or an old kernel). */
  private batchUnsupported = false;

  private constructor(
    private readonly sys: Native,
    shape: MapShape,
    readonly fd: number,
  ) {
    this.name = shape.name;
    this.type = shape.type;
    this.typeName = mapTypeName(shape.type);
    this.keySize = shape.keySize;
    this.valueSize = shape.valueSize;
    this.maxEntries = shape.maxEntries;
    this.btfKeyTypeId = shape.btfKeyTypeId;
    this.btfValueTypeId = shape.btfValueTypeId;
    this.perCpu = isPerCpuMapType(shape.type);
    this.possibleCpus = this.perCpu ? sys.libbpf.libbpf_num_possible_cpus() : 1;
  }

  /** The map of a loaded object: load() may have changed its sizes, so they are read again. */
  static ofObject(sys: Native, map: OpenMap): BpfMap {
    return new BpfMap(sys, shapeOf(sys, map.name, map.handle), sys.libbpf.bpf_map__fd(map.handle));
  }

  /** A map fd the caller owns (it stays open after this BpfMap is dropped). */
  static fromFd(fd: number, shape: MapShape, sys: Native = native()): BpfMap {
    return new BpfMap(sys, shape, fd);
  }

  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const value = new Uint8Array(this.valueBufferSize());
    const error = this.sys.libbpf.bpf_map_lookup_elem(this.fd, key, value);
    if (error === -ENOENT) return undefined;
    if (error < 0) throw this.error('read', error);
    return value;
  }

  /**
   * Every key, by bpf_map_get_next_key. Bounded by maxEntries + 1 steps: a hash map that
   * changes while we walk it can send the walk back to its start.
   */
  keys(): Uint8Array[] {
    const { libbpf } = this.sys;
    const keys: Uint8Array[] = [];
    const seen = new Set<string>();
    let previous: Uint8Array | null = null;
    for (let step = 0; step <= this.maxEntries; step++) {
      const next = new Uint8Array(this.keySize);
      const error = libbpf.bpf_map_get_next_key(this.fd, previous, next);
      if (error === -ENOENT) break;
      if (error < 0) throw this.error('walk', error);
      const id = Buffer.from(next).toString('hex');
      if (!seen.has(id)) {
        seen.add(id);
        keys.push(next);
      }
      previous = next;
    }
    return keys;
  }

  /**
   * [key, value] pairs; keys deleted during the read are skipped. Per-CPU values are raw. Read in
   * batches where the kernel can (one syscall per BATCH_ENTRIES entries instead of two per entry),
   * else key by key.
   */
  entries(): [Uint8Array, Uint8Array][] {
    return this.batchEntries('read') ?? this.walkEntries('read');
  }

  /**
   * Every entry, each removed from the map as it is read (a sampled map's clear_map): hash maps
   * by BPF_MAP_LOOKUP_AND_DELETE_BATCH where the kernel can, else key by key, deleting exactly
   * the keys read, so that an entry the program adds meanwhile stays for the next read (emptying
   * the map after reading it lost those). Arrays cannot delete: the slots read are zeroed.
   */
  take(): [Uint8Array, Uint8Array][] {
    if (!isArrayMapType(this.type)) return this.batchEntries('take') ?? this.walkEntries('take');
    const entries = this.entries();
    const zero = new Uint8Array(this.valueBufferSize());
    for (const [key] of entries) {
      const error = this.sys.libbpf.bpf_map_update_elem(this.fd, key, zero, 0);
      if (error < 0) throw this.error('clear', error);
    }
    return entries;
  }

  /**
   * Every entry by BPF_MAP_LOOKUP_BATCH (hash and array maps, kernel 5.6 on), as views into one
   * key and one value buffer per batch; undefined when the kernel cannot for this map, or when a
   * hash bucket holds more entries than a batch (then this read goes key by key; a take goes on
   * key by key with what is left, the entries taken so far being gone from the map).
   */
  private batchEntries(mode: 'read' | 'take'): [Uint8Array, Uint8Array][] | undefined {
    if (this.batchUnsupported) return undefined;
    const { libbpf } = this.sys;
    const batch = mode === 'read' ? libbpf.bpf_map_lookup_batch : libbpf.bpf_map_lookup_and_delete_batch;
    const valueSize = this.valueBufferSize();
    const perBatch = Math.max(1, Math.min(this.maxEntries, BATCH_ENTRIES));
    // The kernel's position token: a key for array maps, a bucket number for hash maps.
    const positions = [new Uint8Array(Math.max(this.keySize, 8)), new Uint8Array(Math.max(this.keySize, 8))] as const;
    const entries: [Uint8Array, Uint8Array][] = [];
    let position: Uint8Array | null = null;
    for (;;) {
      const keys = new Uint8Array(perBatch * this.keySize);
      const values = new Uint8Array(perBatch * valueSize);
      const count = new Uint32Array([perBatch]);
      const next: Uint8Array = position === positions[0] ? positions[1] : positions[0];
      const error = batch(this.fd, position, next, keys, values, count, null);
      if (error < 0 && error !== -ENOENT) {
        if (error === -ENOSPC) return mode === 'read' ? undefined : [...entries, ...this.walkEntries('take')];
        if (position === null && (error === -EINVAL || error === -EOPNOTSUPP || error === -ENOTSUPP)) {
          this.batchUnsupported = true;
          return undefined;
        }
        throw this.error('read', error);
      }
      for (let i = 0; i < count[0]!; i++) {
        entries.push([keys.subarray(i * this.keySize, (i + 1) * this.keySize), values.subarray(i * valueSize, (i + 1) * valueSize)]);
      }
      if (error === -ENOENT) return entries;
      position = next;
    }
  }

  private walkEntries(mode: 'read' | 'take'): [Uint8Array, Uint8Array][] {
    const entries: [Uint8Array, Uint8Array][] = [];
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value === undefined) continue;
      entries.push([key, value]);
      if (mode === 'take') this.delete(key);
    }
    return entries;
  }

  /** True when the key was there. */
  delete(key: Uint8Array): boolean {
    this.checkKey(key);
    const error = this.sys.libbpf.bpf_map_delete_elem(this.fd, key);
    if (error === -ENOENT) return false;
    if (error < 0) throw this.error('delete from', error);
    return true;
  }

  /** The kernel reads keySize bytes from the key: a shorter buffer would be overrun. */
  private checkKey(key: Uint8Array): void {
    if (key.length !== this.keySize) {
      throw new EcliError('INTERNAL', `map ${this.name}: a ${key.length}-byte key for ${this.keySize}-byte keys`);
    }
  }

  /** The bytes a lookup writes: for per-CPU maps, a value per possible CPU, each rounded up to 8 bytes. */
  valueBufferSize(): number {
    return this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * this.possibleCpus : this.valueSize;
  }

  private error(action: string, error: number): EcliError {
    return new EcliError('RUNTIME', `cannot ${action} map ${this.name}: ${describeErrno(error)}`);
  }
}
