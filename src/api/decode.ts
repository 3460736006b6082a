/**
 * Records as JavaScript objects: the JSON text that `ecli run -j` prints (without its time
 * stamp), parsed. Integers beyond 2^53 lose precision as in any JSON.parse; 128-bit integers
 * are strings of their digits.
 */
import type { Btf } from '../btf/btf.js';
import type { Columns } from '../btf/columns.js';
import type { ContainerInfo } from '../format/container.js';
import { createEventFormatter } from '../format/event.js';
import { compileRecord } from '../format/record.js';
import { asBuffer, ValueCompiler } from '../format/value.js';

/** A decoded value: what JSON.parse gives for the reference's JSON of the C type. */
export type FieldValue = number | string | boolean | FieldValue[] | { [member: string]: FieldValue };

/** A decoded record: one property per member of its struct. */
export type EventRecord = Record<string, FieldValue>;

/**
 * Throws EcliError('RUNTIME') for a record too short for its struct. With `containers`, a record
 * of a process in a container gets a `container` member (ContainerInfo), as `ecli run -j` prints it.
 */
export function eventDecoder(btf: Btf, columns: Columns, containers = false): (record: Uint8Array, container?: ContainerInfo) => EventRecord {
  const formatter = createEventFormatter(btf, columns, { format: 'json', time: 'none', containers });
  return (record, container) => JSON.parse(formatter.format(record, container)) as EventRecord;
}

/** Throws EcliError('RUNTIME') for bytes too short for the struct of `columns`; `what` names them in the message. */
export function lengthCheck(btf: Btf, columns: Columns, what: string): (bytes: Uint8Array) => void {
  const record = compileRecord(new ValueCompiler(btf), columns);
  return (bytes) => record.checkLength(asBuffer(bytes), what);
}

/** Decodes a map key or value; throws EcliError('RUNTIME') when the bytes are too short. */
export function recordDecoder(btf: Btf, columns: Columns, what: string): (bytes: Uint8Array) => EventRecord {
  const record = compileRecord(new ValueCompiler(btf), columns);
  return (bytes) => {
    const data = asBuffer(bytes);
    record.checkLength(data, what);
    return JSON.parse(record.json(data, 0)) as EventRecord;
  };
}
