/**
 * A BPF object in the kernel: open (parse the ELF with libbpf) → set initial values → load
 * (create maps, CO-RE, verifier) → attach → close. BpfObject owns every native handle it
 * hands out (maps, programs, links) and releases them all in close().
 */
import { KERNEL_BTF_PATH } from '../btf/kernel-btf-path.js';
import { isArrayMapType, isPerCpuMapType, mapTypeName } from '../model/map-types.js';
import { EcliError } from '../errors.js';
import { escapeControls } from '../terminal.js';
import { attachProgram } from './attach.js';
import { type AttachKind, attachKindOf } from '../model/attach-kind.js';
import type { AttachMeta, Attachment } from './attachment.js';
import { type LoadFacts, type ProgramIdentity, diagnoseLoadFailure } from './diagnose.js';
import { ENOENT, describeErrno, errnoName } from './ffi/errno.js';
import { type Pointer, native } from './ffi/libbpf.js';
import { type LibbpfLogCapture, captureLibbpfLog } from './log.js';
import { hasVmlinuxBtf, isBpfLsmEnabled, lockdownLevel, processCapabilities, probeTrampolines } from './probe.js';
import { tcxDirectionOf } from '../model/tc-hook.js';
import { BPF_PROG_TYPE_SCHED_CLS, tcxAttachType } from './tcx-attr.js';

export type { AttachMeta } from './attachment.js';

export interface OpenOptions {
  objectName: string;
  btfCustomPath?: string;
  /** Echo all of libbpf's messages (debug level included) to stderr. */
  verbose?: boolean;
  /** The object needs the kernel's BTF (model/btf-needs.ts): refused with a clear error when it is missing. */
  needsKernelBtf?: boolean;
  /** Where non-fatal warnings go (e.g. a perf_event falling back to software); stderr by default. */
  warn?: (message: string) => void;
}

const LOAD_FACTS: LoadFacts = {
  capabilities: processCapabilities,
  trampolines: probeTrampolines,
  bpfLsm: isBpfLsmEnabled,
  lockdown: lockdownLevel,
};

export class BpfObject {
  readonly maps: BpfMap[];
  readonly programs: BpfProgram[];
  private readonly attachments: Attachment[] = [];
  private loaded = false;
  private closed = false;

  private constructor(
    readonly name: string,
    private readonly handle: Pointer,
    private readonly elfMemory: Pointer,
    private readonly options: OpenOptions,
    private readonly log: LibbpfLogCapture,
  ) {
    const { libbpf } = native();
    this.maps = [];
    for (let map = libbpf.bpf_object__next_map(handle, null); map !== null; map = libbpf.bpf_object__next_map(handle, map)) {
      this.maps.push(new BpfMap(map));
    }
    this.programs = [];
    for (let prog = libbpf.bpf_object__next_program(handle, null); prog !== null; prog = libbpf.bpf_object__next_program(handle, prog)) {
      this.programs.push(new BpfProgram(prog));
    }
  }

  /** Opens an ELF object (nothing reaches the kernel yet). */
  static open(elf: Uint8Array, options: OpenOptions): BpfObject {
    const ffi = native();
    const log = captureLibbpfLog({ verbose: options.verbose ?? false });
    // libbpf may keep pointing into the ELF image, so it lives in memory that never moves.
    const memory = ffi.allocCopy(elf);
    const mark = log.mark();
    const opened = ffi.libbpf.bpf_object__open_mem(memory, elf.length, {
      object_name: options.objectName,
      btf_custom_path: options.btfCustomPath ?? null,
    });
    if (opened.ptr === null) {
      const reason = log
        .since(mark)
        .find((m) => m.level === 'warn')
        ?.text.replace(/^libbpf: /, '');
      ffi.free(memory);
      log.release();
      throw new EcliError(
        'PACKAGE_INVALID',
        `cannot open the BPF object ${options.objectName}: ${errnoName(opened.errno)}: ${reason ?? describeErrno(opened.errno)}`,
        { hint: 'the package is damaged or was not written by ecc; rebuild it with ./ecc' },
      );
    }
    const object = new BpfObject(options.objectName, opened.ptr, memory, options, log);
    object.programs.forEach(setTypeLibbpfDoesNotKnow);
    return object;
  }

  findMap(name: string): BpfMap | undefined {
    return this.maps.find((map) => map.name === name);
  }

  findProgram(name: string): BpfProgram | undefined {
    return this.programs.find((program) => program.name === name);
  }

  /** Replaces an internal map's (.rodata/.bss) initial image; before load() only. */
  setInitialValue(map: BpfMap, bytes: Uint8Array): void {
    this.assertOpen();
    if (this.loaded) throw new EcliError('INTERNAL', `initial value of map ${map.name} set after load`);
    if (bytes.length !== map.valueSize) {
      throw new EcliError('BTF_INVALID', `the initial value for map ${map.name} is ${bytes.length} bytes but the map holds ${map.valueSize}`);
    }
    const error = native().libbpf.bpf_map__set_initial_value(map.handle, bytes, bytes.length);
    if (error < 0) {
      throw new EcliError('INTERNAL', `cannot set the initial value of map ${map.name}: ${describeErrno(error)}`);
    }
  }

  /** Creates the maps and loads every program (CO-RE relocation, verifier). */
  load(): void {
    this.assertOpen();
    if (this.loaded) return;
    if (this.options.needsKernelBtf === true && this.options.btfCustomPath === undefined && !hasVmlinuxBtf()) {
      throw new EcliError('KERNEL_UNSUPPORTED', `${this.name} needs the kernel's BTF (for CO-RE), but ${KERNEL_BTF_PATH} is missing`, {
        hint: 'set BTF_FILE_PATH to a BTF file for this kernel (for example from btfhub-archive)',
      });
    }
    const mark = this.log.mark();
    const error = native().libbpf.bpf_object__load(this.handle);
    if (error < 0) {
      throw diagnoseLoadFailure(
        {
          objectName: this.name,
          error,
          warnings: this.log
            .since(mark)
            .filter((message) => message.level === 'warn')
            .map((message) => message.text),
          programs: this.programs.map((program) => program.info),
          maps: this.maps.map((map) => ({ name: map.name, typeName: map.typeName })),
        },
        LOAD_FACTS,
      );
    }
    this.loaded = true;
    this.maps.forEach((map) => map.refresh());
  }

  /** Attaches a loaded program; the object keeps what attaching created until close(). */
  attach(program: BpfProgram, meta: AttachMeta = {}): void {
    this.assertOpen();
    if (!this.loaded) throw new EcliError('INTERNAL', `program ${program.name} attached before load`);
    const warn = this.options.warn ?? ((message: string) => process.stderr.write(`warning: ${escapeControls(message)}\n`));
    const target = { handle: program.handle, fd: native().libbpf.bpf_program__fd(program.handle), info: program.info };
    this.attachments.push(...attachProgram(target, meta, { log: this.log, warn }));
  }

  /**
   * Detaches everything (links, XDP, TC filters, perf events), newest first, and frees the
   * object. Idempotent. Close buffer readers on this object's maps first. A detach that fails
   * does not stop the others: the failures are thrown together at the end (RUNTIME).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const { libbpf, free } = native();
    const failures: EcliError[] = [];
    for (const attachment of this.attachments.reverse()) {
      try {
        attachment.detach();
      } catch (error) {
        failures.push(error instanceof EcliError ? error : new EcliError('RUNTIME', `cannot detach ${attachment.description}: ${String(error)}`));
      }
    }
    this.attachments.length = 0;
    libbpf.bpf_object__close(this.handle);
    free(this.elfMemory);
    this.log.release();
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      const hints = failures.flatMap((failure) => (failure.hint === undefined ? [] : [failure.hint]));
      throw new EcliError('RUNTIME', failures.map((failure) => failure.message).join('; '), hints.length > 0 ? { hint: hints.join('; ') } : {});
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new EcliError('INTERNAL', `BPF object ${this.name} used after close()`);
  }
}

/** libbpf 1.1 predates TCX: give `tcx/ingress` and `tcx/egress` programs their type before load. */
function setTypeLibbpfDoesNotKnow(program: BpfProgram): void {
  const direction = tcxDirectionOf(program.sectionName);
  if (direction === undefined) return;
  const { libbpf } = native();
  libbpf.bpf_program__set_type(program.handle, BPF_PROG_TYPE_SCHED_CLS);
  libbpf.bpf_program__set_expected_attach_type(program.handle, tcxAttachType(direction));
}

export class BpfProgram {
  readonly name: string;
  readonly sectionName: string;
  readonly kind: AttachKind;

  /** @internal libbpf's handle; valid until the object closes. */
  constructor(readonly handle: Pointer) {
    const { libbpf } = native();
    this.name = libbpf.bpf_program__name(handle);
    this.sectionName = libbpf.bpf_program__section_name(handle);
    this.kind = attachKindOf(this.sectionName);
  }

  get info(): ProgramIdentity {
    return { name: this.name, sectionName: this.sectionName, kind: this.kind };
  }
}

export class BpfMap {
  readonly name: string;
  readonly type: number;
  /** libbpf's name for the type: 'hash', 'array', 'perf_event_array', 'ringbuf', ... */
  readonly typeName: string;
  private sizes = { keySize: 0, valueSize: 0, maxEntries: 0, btfKeyTypeId: 0, btfValueTypeId: 0 };
  private mapFd = -1;
  private possibleCpus = 1;

  /** @internal libbpf's handle; valid until the object closes. */
  constructor(readonly handle: Pointer) {
    const { libbpf } = native();
    this.name = libbpf.bpf_map__name(handle);
    this.type = libbpf.bpf_map__type(handle);
    this.typeName = mapTypeName(this.type);
    this.refresh();
  }

  get keySize(): number {
    return this.sizes.keySize;
  }
  get valueSize(): number {
    return this.sizes.valueSize;
  }
  get maxEntries(): number {
    return this.sizes.maxEntries;
  }
  get btfKeyTypeId(): number {
    return this.sizes.btfKeyTypeId;
  }
  get btfValueTypeId(): number {
    return this.sizes.btfValueTypeId;
  }
  /** Values hold one round_up(valueSize, 8)-byte slot per possible CPU. */
  get perCpu(): boolean {
    return isPerCpuMapType(this.type);
  }

  /** The map's fd, after load. */
  get fd(): number {
    if (this.mapFd < 0) throw new EcliError('INTERNAL', `map ${this.name} used before load`);
    return this.mapFd;
  }

  /** @internal Re-reads what load() may change (sizes, BTF ids, the fd). */
  refresh(): void {
    const { libbpf } = native();
    const map = this.handle;
    this.sizes = {
      keySize: libbpf.bpf_map__key_size(map),
      valueSize: libbpf.bpf_map__value_size(map),
      maxEntries: libbpf.bpf_map__max_entries(map),
      btfKeyTypeId: libbpf.bpf_map__btf_key_type_id(map),
      btfValueTypeId: libbpf.bpf_map__btf_value_type_id(map),
    };
    this.mapFd = libbpf.bpf_map__fd(map);
    if (this.perCpu) this.possibleCpus = libbpf.libbpf_num_possible_cpus();
  }

  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const value = new Uint8Array(this.valueBufferSize());
    const error = native().libbpf.bpf_map_lookup_elem(this.fd, key, value);
    if (error === -ENOENT) return undefined;
    if (error < 0) throw this.error('read', error);
    return value;
  }

  /**
   * Every key, by bpf_map_get_next_key. Bounded by maxEntries + 1 steps: a hash map that
   * changes while we walk it can send the walk back to its start.
   */
  keys(): Uint8Array[] {
    const { libbpf } = native();
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

  /** [key, value] pairs; keys deleted during the walk are skipped. Per-CPU values are raw. */
  entries(): [Uint8Array, Uint8Array][] {
    const entries: [Uint8Array, Uint8Array][] = [];
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value !== undefined) entries.push([key, value]);
    }
    return entries;
  }

  /** True when the key was there. */
  delete(key: Uint8Array): boolean {
    this.checkKey(key);
    const error = native().libbpf.bpf_map_delete_elem(this.fd, key);
    if (error === -ENOENT) return false;
    if (error < 0) throw this.error('delete from', error);
    return true;
  }

  /** Empties the map: deletes every key, or zeroes every slot of an array. */
  clear(): void {
    if (!isArrayMapType(this.type)) {
      this.keys().forEach((key) => this.delete(key));
      return;
    }
    const zero = new Uint8Array(this.valueBufferSize());
    for (const key of this.keys()) {
      const error = native().libbpf.bpf_map_update_elem(this.fd, key, zero, 0);
      if (error < 0) throw this.error('clear', error);
    }
  }

  /** A copy of libbpf's initial image of an internal map (.rodata/.bss); undefined for others. */
  readInitialValue(): Uint8Array | undefined {
    return native().mapInitialValue(this.handle);
  }

  /** The kernel reads keySize bytes from the key: a shorter buffer would be overrun. */
  private checkKey(key: Uint8Array): void {
    if (key.length !== this.keySize) {
      throw new EcliError('INTERNAL', `map ${this.name}: a ${key.length}-byte key for ${this.keySize}-byte keys`);
    }
  }

  private valueBufferSize(): number {
    return this.perCpu ? Math.ceil(this.valueSize / 8) * 8 * this.possibleCpus : this.valueSize;
  }

  private error(action: string, error: number): EcliError {
    return new EcliError('RUNTIME', `cannot ${action} map ${this.name}: ${describeErrno(error)}`);
  }
}
