/**
 * The TC filters an interface's clsact hook holds in one direction, from a netlink dump
 * (RTM_GETTFILTER). libbpf 1.1 cannot list filters, and its bpf_tc_query answers EINVAL both
 * for a filter that is gone and for one that is not eBPF; the dump tells them apart, and shows
 * whether a clsact qdisc ecli created is still used by someone else's filter. Message encoding
 * and decoding are pure; listFilters() talks to the kernel.
 */
import { EcliError } from '../errors.js';
import { describeErrno } from './ffi/errno.js';
import type { Native } from './ffi/native.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const RTM_NEWTFILTER = 44;
const RTM_GETTFILTER = 46;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLMSG_HEADER = 16;
const TCMSG = 20;
const RTA_HEADER = 4;
const NLA_TYPE_MASK = 0x3fff;
const TCA_OPTIONS = 2;
const TCA_BPF_ID = 11;
/** Big enough for any datagram the kernel sends in a dump (it uses at most 32 KiB). */
const RECEIVE_BUFFER = 64 * 1024;

/** The clsact hook's two directions, as tcm_parent values (TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_*)). */
export const CLSACT_INGRESS = 0xfffffff2;
export const CLSACT_EGRESS = 0xfffffff3;

/** An RTM_GETTFILTER dump request for every filter under `parent` on `ifindex`. */
export function encodeFilterDump(ifindex: number, parent: number, seq: number): Uint8Array {
  const message = new Uint8Array(NLMSG_HEADER + TCMSG);
  const view = new DataView(message.buffer);
  view.setUint32(0, message.length, true);
  view.setUint16(4, RTM_GETTFILTER, true);
  view.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
  view.setUint32(8, seq, true);
  // tcmsg: family 0 (AF_UNSPEC), ifindex, handle 0, parent, info 0 (every priority and protocol)
  view.setInt32(NLMSG_HEADER + 4, ifindex, true);
  view.setUint32(NLMSG_HEADER + 12, parent, true);
  return message;
}

/** One RTM_NEWTFILTER message: a filter, or (handle 0) the classifier holding a priority's filters. */
export interface TcFilterEntry {
  priority: number;
  handle: number;
  /** The BPF program's id, for eBPF filters. */
  progId?: number;
}

export interface DumpPart {
  entries: TcFilterEntry[];
  /** The dump ended in this datagram. */
  done: boolean;
  /** A negative errno when the kernel refused the dump. */
  error?: number;
}

/** Decodes one datagram of the dump answering request `seq`; messages of other requests are ignored. */
export function decodeDumpPart(datagram: Uint8Array, seq: number): DumpPart {
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const part: DumpPart = { entries: [], done: false };
  for (let at = 0; at + NLMSG_HEADER <= datagram.length;) {
    const length = view.getUint32(at, true);
    if (length < NLMSG_HEADER || at + length > datagram.length) break;
    const type = view.getUint16(at + 4, true);
    if (view.getUint32(at + 8, true) === seq) {
      if (type === RTM_NEWTFILTER && length >= NLMSG_HEADER + TCMSG) part.entries.push(decodeFilter(view, at + NLMSG_HEADER, at + length));
      else if (type === NLMSG_DONE) part.done = true;
      else if (type === NLMSG_ERROR) {
        const error = length >= NLMSG_HEADER + 4 ? view.getInt32(at + NLMSG_HEADER, true) : -22;
        part.done = true;
        if (error !== 0) part.error = error;
      }
    }
    at += align(length);
  }
  return part;
}

const align = (length: number): number => (length + 3) & ~3;

/** A tcmsg at `at` and its attributes up to `end`. */
function decodeFilter(view: DataView, at: number, end: number): TcFilterEntry {
  const entry: TcFilterEntry = { handle: view.getUint32(at + 8, true), priority: view.getUint32(at + 16, true) >>> 16 };
  const options = attributes(view, at + TCMSG, end).get(TCA_OPTIONS);
  const id = options && attributes(view, options.start, options.end).get(TCA_BPF_ID);
  if (id && id.end - id.start >= 4) entry.progId = view.getUint32(id.start, true);
  return entry;
}

/** The netlink attributes between `at` and `end`, by type: where each one's payload is. */
function attributes(view: DataView, at: number, end: number): Map<number, { start: number; end: number }> {
  const found = new Map<number, { start: number; end: number }>();
  while (at + RTA_HEADER <= end) {
    const length = view.getUint16(at, true);
    if (length < RTA_HEADER || at + length > end) break;
    found.set(view.getUint16(at + 2, true) & NLA_TYPE_MASK, { start: at + RTA_HEADER, end: at + length });
    at += align(length);
  }
  return found;
}

/** The filters under `parent` (CLSACT_INGRESS/EGRESS) on `ifindex`; none when there is no clsact qdisc. */
export function listFilters(lib: Native, ifindex: number, parent: number): TcFilterEntry[] {
  const fail = (step: string, errno: number) => new EcliError('RUNTIME', `cannot list the TC filters of ifindex ${ifindex}: ${step}: ${describeErrno(errno)}`);
  const fd = lib.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) throw fail('netlink socket', fd);
  try {
    const seq = (Date.now() & 0x7fffffff) >>> 0;
    const sent = lib.send(fd, encodeFilterDump(ifindex, parent, seq));
    if (sent < 0) throw fail('send', sent);
    const buffer = new Uint8Array(RECEIVE_BUFFER);
    const entries: TcFilterEntry[] = [];
    for (;;) {
      const received = lib.recv(fd, buffer);
      if (received < 0) throw fail('recv', received);
      const part = decodeDumpPart(buffer.subarray(0, received), seq);
      if (part.error !== undefined) throw fail('dump', part.error);
      entries.push(...part.entries);
      if (part.done || received === 0) return entries;
    }
  } finally {
    lib.close(fd);
  }
}
