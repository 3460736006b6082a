/**
 * The `stack_trace` interpreter of ring buffer/perf events (docs/eunomia-spec.md §3.6), plain text only.
 * A frame is `  N [<%016x>]`, followed by ` sym+0xoff` when a symbolizer names the address.
 */
import type { Buffer } from 'node:buffer';
import { EcliError } from '../errors.js';
import { escapeControls } from '../terminal.js';
import type { Btf } from '../btf/btf.js';
import type { Column, Columns } from '../btf/columns.js';
import { BtfKind } from '../btf/types.js';
import type { StackTraceFieldMap } from '../package/types.js';
import { compileRecord } from './record.js';
import { asBuffer, ValueCompiler, type Decoder } from './value.js';

/** Names stack addresses (`sym+0xoff`), or undefined when it cannot. */
export interface StackSymbolizer {
  kernel(address: bigint): string | undefined;
  /** An address in the process `pid`. */
  user(pid: number, address: bigint): string | undefined;
}

export interface StackTraceFormatter {
  /**
   * The text block of one event, to be written followed by one `\n` (its last line already ends
   * in `\n`, so a blank line follows). Undefined when the event has neither stack.
   * Throws EcliError('RUNTIME') when the record is too short.
   */
  format(record: Uint8Array): string | undefined;
}

type Field = 'pid' | 'cpu_id' | 'comm' | 'kstack_sz' | 'ustack_sz' | 'kstack' | 'ustack';

export function createStackTraceFormatter(btf: Btf, columns: Columns, fieldMap: StackTraceFieldMap = {}, symbolizer?: StackSymbolizer): StackTraceFormatter {
  const record = compileRecord(new ValueCompiler(btf), columns);
  const find = (field: Field): { column: Column; plain: Decoder } => {
    const name = typeof fieldMap[field] === 'string' ? (fieldMap[field] as string) : field;
    const index = columns.members.findIndex((c) => c.name === name);
    if (index < 0) {
      throw new EcliError('PACKAGE_INVALID', `stack_trace interpreter: ${columns.describe} has no member "${name}" for field ${field}`, {
        hint: 'rename the member or map it with intepreter.stack_trace.field_map',
      });
    }
    return { column: columns.members[index]!, plain: record.values[index]!.plain };
  };
  const wrongType = (field: Field, column: Column, expected: string): EcliError =>
    new EcliError(
      'PACKAGE_INVALID',
      `stack_trace interpreter: member "${column.name}" (field ${field}) is ${btf.typeName(column.typeId)}, expected ${expected}`,
      {
        hint: 'declare the event like struct stacktrace_event { __u32 pid; __u32 cpu_id; char comm[16]; __s32 kstack_sz; __s32 ustack_sz; __u64 kstack[N]; __u64 ustack[N]; }',
      },
    );
  const integer = (field: Field) => {
    const found = find(field);
    const t = btf.resolve(found.column.typeId);
    if (t.kind !== BtfKind.Int || t.bool || t.size > 8) throw wrongType(field, found.column, 'an integer');
    return found;
  };
  const byteCount = (field: Field): ((data: Buffer) => number) => {
    const { column } = integer(field);
    const t = btf.resolve(column.typeId) as { signed: boolean; size: number };
    const { offset, size } = column;
    if (size === 8) return t.signed ? (d) => Number(d.readBigInt64LE(offset)) : (d) => Number(d.readBigUInt64LE(offset));
    return t.signed ? (d) => d.readIntLE(offset, size) : (d) => d.readUIntLE(offset, size);
  };
  const addresses = (field: Field): { offset: number; count: number } => {
    const { column } = find(field);
    const t = btf.resolve(column.typeId);
    const element = t.kind === BtfKind.Array ? btf.resolve(t.type) : undefined;
    if (t.kind !== BtfKind.Array || element?.kind !== BtfKind.Int || element.size !== 8) {
      throw wrongType(field, column, 'an array of 64-bit integers');
    }
    return { offset: column.offset, count: t.nelems };
  };

  const pid = integer('pid');
  const cpu = integer('cpu_id');
  const comm = find('comm');
  const commType = btf.resolve(comm.column.typeId);
  if (commType.kind !== BtfKind.Array || btf.type(commType.type).name !== 'char') throw wrongType('comm', comm.column, 'a char array');
  const kernelBytes = byteCount('kstack_sz');
  const userBytes = byteCount('ustack_sz');
  const kernel = addresses('kstack');
  const user = addresses('ustack');

  return {
    format(bytes) {
      const data = asBuffer(bytes);
      record.checkLength(data, 'event');
      // The sizes are in bytes; 8 per frame, truncated toward zero.
      const kernelFrames = Math.trunc(kernelBytes(data) / 8);
      const userFrames = Math.trunc(userBytes(data) / 8);
      if (kernelFrames <= 0 && userFrames <= 0) return undefined;
      const pidText = pid.plain(data, pid.column.offset);
      let text = `COMM: ${comm.plain(data, comm.column.offset)} (pid=${pidText}) @ CPU ${cpu.plain(data, cpu.column.offset)}\n`;
      const processId = Number(pidText);
      const nameKernel = symbolizer && ((address: bigint) => symbolizer.kernel(address));
      const nameUser = symbolizer && ((address: bigint) => symbolizer.user(processId, address));
      text += kernelFrames > 0 ? `Kernel:\n${frames(data, kernel, kernelFrames, nameKernel)}` : 'No Kernel Stack\n';
      text += userFrames > 0 ? `Userspace:\n${frames(data, user, userFrames, nameUser)}` : 'No Userspace Stack\n';
      return text;
    },
  };
}

/**
 * The first `frameCount` frames. A size past the end of the array is capped there (the reference
 * pads with zero frames, which a corrupt size could make millions of).
 */
function frames(data: Buffer, stack: { offset: number; count: number }, frameCount: number, name?: (address: bigint) => string | undefined): string {
  let text = '';
  for (let i = 0; i < Math.min(frameCount, stack.count); i++) {
    const address = data.readBigUInt64LE(stack.offset + i * 8);
    const symbol = name?.(address);
    // User symbols come from the traced process's own ELF files: untrusted text.
    text += `  ${i} [<${address.toString(16).padStart(16, '0')}>]${symbol === undefined ? '' : ` ${escapeControls(symbol)}`}\n`;
  }
  return text;
}
