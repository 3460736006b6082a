/**
 * What a WebAssembly module says about itself, read from its binary: the functions, tables,
 * memories and globals it imports (functions with their signatures, which the JS API does not
 * show), what it exports, and the limits of the memory it defines. Also rewrites the maximum of
 * that memory, which is how ecli caps a guest's memory. Pure; every read is bounds-checked, and
 * a malformed module is one PACKAGE_INVALID line. WebAssembly.compile validates the rest.
 */
import { EcliError } from '../errors.js';

export type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

export interface FunctionSignature {
  params: ValueType[];
  results: ValueType[];
}

export interface MemoryLimits {
  /** In 64 KiB pages. */
  minPages: number;
  maxPages: number | undefined;
  shared: boolean;
  memory64: boolean;
}

export type ImportDescription =
  { kind: 'function'; signature: FunctionSignature } | { kind: 'table' } | { kind: 'memory'; limits: MemoryLimits } | { kind: 'global' } | { kind: 'tag' };

export interface ModuleImport {
  module: string;
  name: string;
  description: ImportDescription;
}

export interface ModuleExport {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

export interface ModuleInfo {
  imports: ModuleImport[];
  exports: ModuleExport[];
  /** The memories the module defines itself (not imported ones). */
  memories: MemoryLimits[];
}

const WASM_PAGE_SIZE = 65536;

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const VERSION = [0x01, 0x00, 0x00, 0x00];
const SECTION = { type: 1, import: 2, memory: 5, export: 7 } as const;
const VALUE_TYPES: Record<number, ValueType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };
const EXTERNAL_KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;
const FUNCTION_TYPE_FORM = 0x60;

export function isWasmModule(bytes: Uint8Array): boolean {
  return MAGIC.every((byte, i) => bytes[i] === byte);
}

/** A cursor over the module's bytes, failing with the offset of what it could not read. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public at: number,
    private readonly end: number,
    private readonly source: string,
  ) {}

  get done(): boolean {
    return this.at >= this.end;
  }

  fail(what: string, at = this.at): never {
    throw new EcliError('PACKAGE_INVALID', `${this.source} is not a valid WebAssembly module: ${what} (at byte ${at})`, {
      hint: 'rebuild the module, e.g. with clang --target=wasm32-wasi',
    });
  }

  byte(): number {
    if (this.at >= this.end) this.fail('it ends too early');
    return this.bytes[this.at++]!;
  }

  /** An unsigned LEB128 of at most `bits` bits, as a number (bits ≤ 53) . */
  unsigned(bits = 32): number {
    const start = this.at;
    let result = 0;
    let scale = 1;
    for (let shift = 0; ; shift += 7) {
      if (shift >= bits + 7) this.fail('a number is too long', start);
      const byte = this.byte();
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) break;
    }
    if (result >= 2 ** bits) this.fail('a number is out of range', start);
    return result;
  }

  name(): string {
    const length = this.unsigned();
    if (length > this.end - this.at) this.fail('a name runs past its section');
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.at, length);
    this.at += length;
    return text.toString('utf8');
  }

  valueType(): ValueType {
    const at = this.at;
    return VALUE_TYPES[this.byte()] ?? this.fail('unknown value type', at);
  }

  limits(memory: boolean): MemoryLimits {
    const at = this.at;
    const flags = this.byte();
    if (flags > (memory ? 0x07 : 0x01) || (memory && (flags & 0x03) === 0x02)) this.fail(`unknown limits flags 0x${flags.toString(16)}`, at);
    const memory64 = (flags & 0x04) !== 0;
    const bits = memory64 ? 53 : 32;
    const minPages = this.unsigned(bits);
    const maxPages = (flags & 0x01) !== 0 ? this.unsigned(bits) : undefined;
    return { minPages, maxPages, shared: (flags & 0x02) !== 0, memory64 };
  }
}

interface Section {
  id: number;
  /** Where the section starts (its id byte), its contents, and where it ends. */
  start: number;
  contentStart: number;
  end: number;
}

function sections(bytes: Uint8Array, source: string): Section[] {
  const reader = new Reader(bytes, 0, bytes.length, source);
  if (!isWasmModule(bytes)) reader.fail('no \\0asm magic', 0);
  reader.at = 4;
  if (!VERSION.every((byte) => reader.byte() === byte)) reader.fail('not version 1 of the binary format', 4);
  const found: Section[] = [];
  while (!reader.done) {
    const start = reader.at;
    const id = reader.byte();
    const size = reader.unsigned();
    const contentStart = reader.at;
    if (size > bytes.length - contentStart) reader.fail(`section ${id} runs past the end of the module`, start);
    found.push({ id, start, contentStart, end: contentStart + size });
    reader.at = contentStart + size;
  }
  return found;
}

export function readModuleInfo(bytes: Uint8Array, source: string): ModuleInfo {
  const all = sections(bytes, source);
  const reader = (section: Section): Reader => new Reader(bytes, section.contentStart, section.end, source);
  const vector = <T>(r: Reader, item: () => T): T[] => Array.from({ length: r.unsigned() }, item);

  /** The items of section `id` (none when the module has no such section), each read by `item`. */
  const items = <T>(id: number, item: (r: Reader) => T): T[] => {
    const section = all.find((s) => s.id === id);
    if (section === undefined) return [];
    const r = reader(section);
    return vector(r, () => item(r));
  };

  const types = items(SECTION.type, (r): FunctionSignature => {
    const at = r.at;
    if (r.byte() !== FUNCTION_TYPE_FORM) r.fail('a type that is not a function type', at);
    return { params: vector(r, () => r.valueType()), results: vector(r, () => r.valueType()) };
  });
  const imports = items(SECTION.import, (r): ModuleImport => {
    const module = r.name();
    const name = r.name();
    return { module, name, description: importDescription(r, types) };
  });
  const memories = items(SECTION.memory, (r) => r.limits(true));
  const exports = items(SECTION.export, (r): ModuleExport => {
    const name = r.name();
    const at = r.at;
    const kind = EXTERNAL_KINDS[r.byte()] ?? r.fail('an export of unknown kind', at);
    r.unsigned();
    return { name, kind };
  });
  return { imports, exports, memories };
}

function importDescription(r: Reader, types: readonly FunctionSignature[]): ImportDescription {
  const at = r.at;
  switch (r.byte()) {
    case 0: {
      const index = r.unsigned();
      const signature = types[index] ?? r.fail(`a function import of type ${index}, which the type section lacks`, at);
      return { kind: 'function', signature };
    }
    case 1:
      r.valueType();
      r.limits(false);
      return { kind: 'table' };
    case 2:
      return { kind: 'memory', limits: r.limits(true) };
    case 3:
      r.valueType();
      r.byte();
      return { kind: 'global' };
    case 4:
      r.byte();
      r.unsigned();
      return { kind: 'tag' };
    default:
      return r.fail('an import of unknown kind', at);
  }
}

/**
 * The module with the maximum of every memory it defines lowered to `maxPages` (a memory
 * without a maximum gets one): memory.grow beyond it then fails inside the guest (malloc returns
 * NULL) instead of taking the host's memory. A memory that needs more than `maxPages` to start
 * is refused. Returns the input itself when nothing changes.
 */
export function withMemoryLimit(bytes: Uint8Array, maxPages: number, source: string): Uint8Array {
  const memorySection = sections(bytes, source).find((s) => s.id === SECTION.memory);
  if (memorySection === undefined) return bytes;
  const r = new Reader(bytes, memorySection.contentStart, memorySection.end, source);
  const limits = Array.from({ length: r.unsigned() }, () => r.limits(true));
  if (!r.done) r.fail('the memory section has bytes after its memories');
  for (const memory of limits) {
    if (memory.minPages > maxPages) {
      throw new EcliError('USAGE', `${source} needs ${formatPages(memory.minPages)} of memory to start, more than the limit of ${formatPages(maxPages)}`, {
        hint: 'raise the limit with --wasm-memory <size>, e.g. --wasm-memory 2G',
      });
    }
  }
  if (limits.every((memory) => memory.maxPages !== undefined && memory.maxPages <= maxPages)) return bytes;
  const content = [
    ...leb(limits.length),
    ...limits.flatMap((memory) => {
      const max = Math.min(memory.maxPages ?? maxPages, maxPages);
      const flags = 0x01 | (memory.shared ? 0x02 : 0) | (memory.memory64 ? 0x04 : 0);
      return [flags, ...leb(memory.minPages), ...leb(max)];
    }),
  ];
  const section = [SECTION.memory, ...leb(content.length), ...content];
  const out = new Uint8Array(bytes.length - (memorySection.end - memorySection.start) + section.length);
  out.set(bytes.subarray(0, memorySection.start), 0);
  out.set(section, memorySection.start);
  out.set(bytes.subarray(memorySection.end), memorySection.start + section.length);
  return out;
}

export function formatPages(pages: number): string {
  const bytes = pages * WASM_PAGE_SIZE;
  if (bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  return `${bytes / 1024} KiB`;
}

export function formatSignature(signature: FunctionSignature): string {
  const results = signature.results.length === 0 ? '' : ` -> ${signature.results.join(', ')}`;
  return `(${signature.params.join(', ')})${results}`;
}

/** Unsigned LEB128, the encoding of every count, size and index in a module. */
export function leb(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    out.push(byte);
  } while (rest > 0);
  return out;
}
