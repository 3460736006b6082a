/** Builds ustar archives in memory, including entries a safe extractor must refuse. */

export interface TarEntrySpec {
  path: string;
  /** ustar typeflag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' directory, '6' FIFO. */
  type?: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  data?: Uint8Array | string;
  linkpath?: string;
  /** Size written in the header when it should differ from the data length. */
  declaredSize?: number;
}

const BLOCK = 512;

function writeField(header: Buffer, offset: number, length: number, value: string): void {
  header.write(value.slice(0, length), offset, length, 'latin1');
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

export function buildTar(entries: TarEntrySpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.data === undefined ? Buffer.alloc(0) : Buffer.from(entry.data);
    const type = entry.type ?? '0';
    const header = Buffer.alloc(BLOCK);
    if (Buffer.byteLength(entry.path) > 100) throw new Error(`test tar builder: path too long: ${entry.path}`);
    writeField(header, 0, 100, entry.path);
    writeField(header, 100, 8, octal(type === '5' ? 0o755 : 0o644, 8));
    writeField(header, 108, 8, octal(0, 8));
    writeField(header, 116, 8, octal(0, 8));
    writeField(header, 124, 12, octal(entry.declaredSize ?? (type === '0' ? data.length : 0), 12));
    writeField(header, 136, 12, octal(0, 12));
    header.fill(' ', 148, 156);
    writeField(header, 156, 1, type);
    writeField(header, 157, 100, entry.linkpath ?? '');
    writeField(header, 257, 6, 'ustar\0');
    writeField(header, 263, 2, '00');
    let sum = 0;
    for (const byte of header) sum += byte;
    writeField(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header);
    if (type === '0' && data.length > 0) {
      blocks.push(data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
    }
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(blocks);
}
