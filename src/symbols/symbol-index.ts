/**
 * Address → `name+0xoffset`, over a list of symbols sorted once: the lookup both kernel
 * (kallsyms) and user (ELF) frames use. Pure.
 */

export interface SymbolRange {
  start: bigint;
  /** 0 when unknown (kallsyms): the symbol then runs up to the next one. */
  size: bigint;
  name: string;
}

export interface SymbolHit {
  name: string;
  offset: bigint;
}

export class SymbolIndex {
  private constructor(
    private readonly starts: BigUint64Array,
    private readonly sizes: BigUint64Array,
    private readonly names: string[],
  ) {}

  /** Sorted by address; of several symbols at one address the first sized one is kept. */
  static from(symbols: readonly SymbolRange[]): SymbolIndex {
    const sorted = [...symbols].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : Number(b.size > 0n) - Number(a.size > 0n)));
    const kept = sorted.filter((symbol, i) => i === 0 || symbol.start !== sorted[i - 1]!.start);
    return new SymbolIndex(
      BigUint64Array.from(kept, (s) => s.start),
      BigUint64Array.from(kept, (s) => s.size),
      kept.map((s) => s.name),
    );
  }

  get size(): number {
    return this.names.length;
  }

  /** The symbol holding `address`: the last one starting at or below it, if its size (when known) reaches it. */
  lookup(address: bigint): SymbolHit | undefined {
    let low = 0;
    let high = this.starts.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (this.starts[middle]! <= address) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    if (found < 0) return undefined;
    const offset = address - this.starts[found]!;
    const size = this.sizes[found]!;
    if (size > 0n && offset >= size) return undefined;
    return { name: this.names[found]!, offset };
  }
}

/** `do_sys_openat2+0x9e`, as the reference prints a symbolised frame. */
export function formatSymbolHit(hit: SymbolHit): string {
  return `${hit.name}+0x${hit.offset.toString(16)}`;
}
