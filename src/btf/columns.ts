/** The columns of an exported record: what each output formatter prints, by name, BTF type and byte range. */
import type { ContainerMark, DisplayHint } from '../package/types.js';

export interface Column {
  /** Output name: the JSON key, and upper-cased the plain-text header. */
  name: string;
  /** BTF type id of the value (unresolved, so typedef names stay visible). */
  typeId: number;
  /** Byte offset in the record. */
  offset: number;
  /** Byte size of the value. */
  size: number;
  /** Plain-text display hint from the package's export type (reference packages have none). */
  display?: DisplayHint | undefined;
  /** The package marks this member as the one that tells the event's container. */
  container?: ContainerMark | undefined;
}

export interface Columns {
  /** What the record is, for messages: `struct event`, `u32`, `custom members`. */
  describe: string;
  members: Column[];
  /** Bytes of a whole record (the struct or value size). */
  size: number;
}
