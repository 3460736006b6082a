/**
 * Builds small WebAssembly modules for unit tests, byte by byte, without a compiler: function
 * types, imports (functions and memories), functions with raw bodies, a memory, a function table
 * filled with given functions, and exports.
 */
import { leb, type ValueType } from '../../src/wasm/module-binary.js';

const VALUE: Record<ValueType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b, funcref: 0x70, externref: 0x6f };
const KIND = { function: 0, table: 1, memory: 2, global: 3 } as const;

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...leb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...leb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return content.length === 0 ? [] : [id, ...leb(content.length), ...content];
}

/** Instructions for function bodies. */
export const op = {
  localGet: (i: number) => [0x20, ...leb(i)],
  call: (f: number) => [0x10, ...leb(f)],
  i32Const: (v: number) => [0x41, ...signedLeb(v)],
  i64Const: (v: number) => [0x42, ...signedLeb(v)],
  drop: [0x1a],
  unreachable: [0x00],
};

function signedLeb(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    if ((rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export class WasmBuilder {
  private readonly types: number[][] = [];
  private readonly imports: number[][] = [];
  private importedFunctions = 0;
  private readonly functions: { type: number; body: number[] }[] = [];
  private memoryLimits: number[] | undefined;
  private tableFunctions: number[] | undefined;
  private readonly exports: number[][] = [];

  type(params: ValueType[], results: ValueType[]): number {
    this.types.push([0x60, ...vector(params.map((p) => [VALUE[p]])), ...vector(results.map((r) => [VALUE[r]]))]);
    return this.types.length - 1;
  }

  /** Returns the function index (imports come first). */
  importFunction(module: string, field: string, type: number): number {
    if (this.functions.length > 0) throw new Error('builder: import functions before defining any');
    this.imports.push([...name(module), ...name(field), KIND.function, ...leb(type)]);
    return this.importedFunctions++;
  }

  importMemory(module: string, field: string, minPages: number): this {
    this.imports.push([...name(module), ...name(field), KIND.memory, 0x00, ...leb(minPages)]);
    return this;
  }

  /** A function of `type` whose body is `code` (no locals; `end` is added). Returns its index. */
  function(type: number, code: number[]): number {
    this.functions.push({ type, body: [0x00, ...code, 0x0b] });
    return this.importedFunctions + this.functions.length - 1;
  }

  memory(minPages: number, maxPages?: number): this {
    this.memoryLimits = maxPages === undefined ? [0x00, ...leb(minPages)] : [0x01, ...leb(minPages), ...leb(maxPages)];
    return this;
  }

  /** A funcref table holding `functions` at indexes 0, 1, ... */
  table(functions: number[]): this {
    this.tableFunctions = functions;
    return this;
  }

  export(field: string, kind: keyof typeof KIND, index: number): this {
    this.exports.push([...name(field), KIND[kind], ...leb(index)]);
    return this;
  }

  build(): Uint8Array<ArrayBuffer> {
    const table = this.tableFunctions;
    const bytes = [
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...section(1, this.types.length === 0 ? [] : vector(this.types)),
      ...section(2, this.imports.length === 0 ? [] : vector(this.imports)),
      ...section(3, this.functions.length === 0 ? [] : vector(this.functions.map((f) => leb(f.type)))),
      ...section(4, table === undefined ? [] : vector([[0x70, 0x00, ...leb(table.length)]])),
      ...section(5, this.memoryLimits === undefined ? [] : vector([this.memoryLimits])),
      ...section(7, this.exports.length === 0 ? [] : vector(this.exports)),
      ...section(9, table === undefined ? [] : vector([[0x00, ...op.i32Const(0), 0x0b, ...vector(table.map((f) => leb(f)))]])),
      ...section(10, this.functions.length === 0 ? [] : vector(this.functions.map((f) => [...leb(f.body.length), ...f.body]))),
    ];
    return Uint8Array.from(bytes);
  }
}
