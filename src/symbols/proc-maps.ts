/** A process's memory map (/proc/PID/maps): which file, and where in it, an address comes from. Pure. */

export interface FileMapping {
  start: bigint;
  end: bigint;
  /** Offset in the file of the mapping's first byte. */
  fileOffset: bigint;
  /** `major:minor:inode`: the same file whatever path it was opened by. */
  fileId: string;
  path: string;
  /** `7f12a000-7f12c000`, the name of the mapping in /proc/PID/map_files. */
  range: string;
}

/** The file-backed mappings (anonymous memory, the heap, the stack and [vdso] have no symbols to read). */
export function parseProcMaps(text: string): FileMapping[] {
  const mappings: FileMapping[] = [];
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+)\s+(\/.*)$/.exec(line);
    if (!match || match[5] === '0') continue;
    mappings.push({
      start: BigInt(`0x${match[1]}`),
      end: BigInt(`0x${match[2]}`),
      fileOffset: BigInt(`0x${match[3]}`),
      fileId: `${match[4]}:${match[5]}`,
      path: match[6]!.replace(/ \(deleted\)$/, ''),
      range: `${match[1]}-${match[2]}`,
    });
  }
  return mappings;
}

export function mappingOf(mappings: readonly FileMapping[], address: bigint): FileMapping | undefined {
  return mappings.find((m) => m.start <= address && address < m.end);
}

/** Where in its file the byte at `address` of `mapping` comes from. */
export function fileOffsetOf(mapping: FileMapping, address: bigint): bigint {
  return address - mapping.start + mapping.fileOffset;
}
