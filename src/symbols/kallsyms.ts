/** The kernel's symbol table, /proc/kallsyms, as a SymbolIndex of its text symbols. Pure. */
import { SymbolIndex, type SymbolRange } from './symbol-index.js';

/** Text symbols: t/T (functions), w/W (weak). Data and absolute symbols never hold a return address. */
const TEXT_TYPES = new Set(['t', 'T', 'w', 'W']);

/**
 * Parses `ffffffff81000000 T _stext` lines (module symbols carry a trailing `[module]`). Undefined
 * when every address is zero, as kallsyms shows them to readers without CAP_SYSLOG.
 */
export function parseKallsyms(text: string): SymbolIndex | undefined {
  const symbols: SymbolRange[] = [];
  for (const line of text.split('\n')) {
    const [address, type, name] = line.split(/\s+/, 3);
    if (name === undefined || !TEXT_TYPES.has(type!) || !/^[0-9a-f]+$/i.test(address!)) continue;
    const start = BigInt(`0x${address}`);
    if (start !== 0n) symbols.push({ start, size: 0n, name });
  }
  return symbols.length === 0 ? undefined : SymbolIndex.from(symbols);
}
