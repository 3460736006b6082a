/**
 * Readable forms of member values named by a value display hint (`/// @display "errno"` on a
 * header struct member). Plain text shows the readable form in the member's column; JSON keeps the
 * member's own value, as the reference prints it, and adds the readable form as a string member
 * `<name>_text` beside it.
 */
import { Buffer } from 'node:buffer';
import { constants } from 'node:os';
import ipaddr from 'ipaddr.js';
import type { Btf } from '../btf/btf.js';
import { BtfKind, type BtfType } from '../btf/types.js';
import type { DisplayHint } from '../package/types.js';

type EnumType = Extract<BtfType, { kind: BtfKind.Enum | BtfKind.Enum64 }>;
import { escapeControls } from '../terminal.js';
import { hmsMicros, isoLocal } from './time.js';
import type { Decoder } from './value.js';

/** The hints that show a value in a readable form (the others, `args` and `hidden`, are display.ts's). */
export type ValueHint = Exclude<DisplayHint, 'args' | 'hidden'>;

export function isValueHint(hint: DisplayHint): hint is ValueHint {
  return hint !== 'args' && hint !== 'hidden';
}

/** The JSON member that carries a value hint's readable form beside the member's own value. */
export function twinKey(member: string): string {
  return `${member}_text`;
}

export interface HintContext {
  /** Wall-clock nanoseconds since the Unix epoch at which the monotonic clock (bpf_ktime_get_ns) was 0. */
  bootTimeNs: bigint;
}

/** The wall-clock time at which CLOCK_MONOTONIC, the clock of process.hrtime and bpf_ktime_get_ns, was 0. */
export function currentBootTimeNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
}

export interface HintDecoders {
  /** The readable text, control characters escaped. */
  plain: Decoder;
  /** The readable text as a JSON string literal. */
  json: Decoder;
  /** False when the text is always ASCII. */
  mayBeNonAscii: boolean;
}

type BigReader = (data: Buffer, offset: number) => bigint;

/** An integer (or enum) reader of `typeId`, with its width; undefined for other types. */
function integerReader(btf: Btf, typeId: number): { read: BigReader; bits: number; enumType?: EnumType } | undefined {
  const t = btf.resolve(typeId);
  let signed: boolean;
  if (t.kind === BtfKind.Int) {
    if (t.bool || t.bits !== t.size * 8 || t.size > 8) return undefined;
    signed = t.signed;
  } else if (t.kind === BtfKind.Enum || t.kind === BtfKind.Enum64) {
    if (t.size > 8) return undefined;
    signed = t.signed;
  } else {
    return undefined;
  }
  const bits = t.size * 8;
  const read: BigReader = (d, o) => {
    let value = 0n;
    for (let i = t.size - 1; i >= 0; i--) value = (value << 8n) | BigInt(d[o + i]!);
    return signed ? BigInt.asIntN(bits, value) : value;
  };
  return { read, bits, ...(t.kind === BtfKind.Int ? {} : { enumType: t }) };
}

/** Whether `typeId` is an array of 1-byte integers (bytes), `u8[N]` or `char[N]`. */
function byteArrayLength(btf: Btf, typeId: number): number | undefined {
  const t = btf.resolve(typeId);
  if (t.kind !== BtfKind.Array) return undefined;
  const element = btf.resolve(t.type);
  return element.kind === BtfKind.Int && element.size === 1 ? t.nelems : undefined;
}

/** Why `hint` cannot show a value of type `typeId`; undefined when it can. */
export function valueHintProblem(btf: Btf, typeId: number, hint: ValueHint): string | undefined {
  const type = btf.typeName(typeId);
  const integer = integerReader(btf, typeId);
  const size = btf.sizeOf(typeId);
  switch (hint) {
    case 'errno':
    case 'signal':
    case 'duration':
    case 'boot_ns':
      return integer && !integer.enumType ? undefined : `display "${hint}" needs an integer, not ${type}`;
    case 'hex':
      return integer || byteArrayLength(btf, typeId) !== undefined ? undefined : `display "hex" needs an integer or a byte array, not ${type}`;
    case 'flags':
      return integer?.enumType ? undefined : `display "flags" needs an enum type whose enumerators name the bits (e.g. enum open_flags flags;), not ${type}`;
    case 'port':
      return integer && size === 2 ? undefined : `display "port" needs a 16-bit integer (in network byte order), not ${type}`;
    case 'ipv4':
      return (integer && size === 4) || byteArrayLength(btf, typeId) === 4 ? undefined : `display "ipv4" needs 4 bytes (__be32 or u8[4]), not ${type}`;
    case 'ipv6':
      return size === 16 && btf.resolve(typeId).kind !== BtfKind.Int
        ? undefined
        : `display "ipv6" needs 16 bytes (u8[16], u32[4] or struct in6_addr), not ${type}`;
  }
}

/** The decoders of `hint` for a value of `typeId`; call valueHintProblem first. */
export function valueHintDecoders(btf: Btf, typeId: number, hint: ValueHint, context: HintContext): HintDecoders {
  const text = textDecoder(btf, typeId, hint, context);
  const asciiOnly = hint !== 'flags';
  return {
    plain: asciiOnly ? text : (d, o) => escapeControls(text(d, o)),
    json:
      hint === 'boot_ns'
        ? bootTimeJson(integerReader(btf, typeId)!.read, context)
        : asciiOnly
          ? (d, o) => `"${text(d, o)}"`
          : (d, o) => JSON.stringify(text(d, o)),
    mayBeNonAscii: !asciiOnly,
  };
}

function textDecoder(btf: Btf, typeId: number, hint: ValueHint, context: HintContext): Decoder {
  const integer = integerReader(btf, typeId);
  switch (hint) {
    case 'errno':
      return numberText(integer!.read, errnoText);
    case 'signal':
      return numberText(integer!.read, signalText);
    case 'duration':
      return numberText(integer!.read, durationText);
    case 'boot_ns':
      return numberText(integer!.read, (ns) => (ns === 0n ? '0' : hmsMicros(context.bootTimeNs + ns)));
    case 'hex': {
      if (integer) return numberText(integer.read, (v) => `0x${BigInt.asUintN(integer.bits, v).toString(16)}`);
      const length = byteArrayLength(btf, typeId)!;
      return (d, o) => d.toString('hex', o, o + length);
    }
    case 'flags':
      return numberText(integer!.read, flagsText(integer!.enumType!, integer!.bits));
    case 'port':
      return (d, o) => `${(d[o]! << 8) | d[o + 1]!}`;
    case 'ipv4':
      return (d, o) => `${d[o]}.${d[o + 1]}.${d[o + 2]}.${d[o + 3]}`;
    case 'ipv6':
      return ipv6Text;
  }
}

/** JSON's boot_ns twin: the local date and time with the zone (`--time iso`'s form). */
function bootTimeJson(read: BigReader, context: HintContext): Decoder {
  return (d, o) => {
    const ns = read(d, o);
    return ns === 0n ? '"0"' : `"${isoLocal(new Date(Number((context.bootTimeNs + ns) / 1_000_000n)))}"`;
  };
}

function numberText(read: BigReader, show: (value: bigint) => string): Decoder {
  return (d, o) => show(read(d, o));
}

/** Linux's errno names by number (the first name of each in os.constants, the kernel's where two share one). */
const ERRNO_NAMES = new Map<bigint, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!ERRNO_NAMES.has(BigInt(value))) ERRNO_NAMES.set(BigInt(value), name);
ERRNO_NAMES.set(95n, 'EOPNOTSUPP');
/** Kernel-internal codes that BPF programs see in return values (include/linux/errno.h). */
const KERNEL_ERRNOS: [number, string][] = [
  [512, 'ERESTARTSYS'],
  [513, 'ERESTARTNOINTR'],
  [514, 'ERESTARTNOHAND'],
  [515, 'ENOIOCTLCMD'],
  [516, 'ERESTART_RESTARTBLOCK'],
  [517, 'EPROBE_DEFER'],
  [518, 'EOPENSTALLED'],
  [519, 'ENOPARAM'],
  [521, 'EBADHANDLE'],
  [522, 'ENOTSYNC'],
  [523, 'EBADCOOKIE'],
  [524, 'ENOTSUPP'],
  [525, 'ETOOSMALL'],
  [526, 'ESERVERFAULT'],
  [527, 'EBADTYPE'],
  [528, 'EJUKEBOX'],
  [529, 'EIOCBQUEUED'],
  [530, 'ERECALLCONFLICT'],
];
for (const [value, name] of KERNEL_ERRNOS) ERRNO_NAMES.set(BigInt(value), name);

/** A return value in the kernel's convention: -errno on failure (`-ENOENT`), anything else a number. */
function errnoText(value: bigint): string {
  const name = value < 0n ? ERRNO_NAMES.get(-value) : undefined;
  return name === undefined ? `${value}` : `-${name}`;
}

const SIGNAL_NAMES = new Map<bigint, string>();
for (const [name, value] of Object.entries(constants.signals)) if (!SIGNAL_NAMES.has(BigInt(value))) SIGNAL_NAMES.set(BigInt(value), name);
/** The kernel's first real-time signal; strace's names for it and the ones after it. */
const SIGRTMIN = 32n;
const SIGRTMAX = 64n;

function signalText(value: bigint): string {
  const name = SIGNAL_NAMES.get(value);
  if (name !== undefined) return name;
  if (value === SIGRTMIN) return 'SIGRTMIN';
  if (value > SIGRTMIN && value <= SIGRTMAX) return `SIGRT_${value - SIGRTMIN}`;
  return `${value}`;
}

const DURATION_UNITS: [bigint, string][] = [
  [1_000_000_000n, 's'],
  [1_000_000n, 'ms'],
  [1_000n, 'us'],
];

/** Nanoseconds in the largest unit that keeps a value of at least 1, with up to 3 decimals: `1.235ms`. */
export function durationText(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const abs = ns < 0n ? -ns : ns;
  for (const [scale, unit] of DURATION_UNITS) {
    if (abs >= scale) return `${sign}${Number((Number(abs) / Number(scale)).toFixed(3))}${unit}`;
  }
  return `${sign}${abs}ns`;
}

/**
 * An enum value as the enumerators whose bits it holds, in declaration order (`O_WRONLY|O_CREAT`),
 * bits no enumerator names as hex; 0 is the enumerator of value 0, if there is one.
 */
function flagsText(type: EnumType, bits: number): (value: bigint) => string {
  const names = type.values.map((v) => ({ name: v.name, bits: BigInt.asUintN(bits, BigInt(v.value)) }));
  const zero = names.find((v) => v.bits === 0n)?.name ?? '0';
  return (value) => {
    let rest = BigInt.asUintN(bits, value);
    if (rest === 0n) return zero;
    const parts: string[] = [];
    for (const v of names) {
      if (v.bits !== 0n && (rest & v.bits) === v.bits) {
        parts.push(v.name);
        rest &= ~v.bits;
      }
    }
    if (rest !== 0n) parts.push(`0x${rest.toString(16)}`);
    return parts.join('|');
  };
}

/** RFC 5952 text, with an IPv4-mapped address's last 32 bits dotted (`::ffff:127.0.0.1`). */
function ipv6Text(data: Buffer, offset: number): string {
  const address = ipaddr.fromByteArray([...data.subarray(offset, offset + 16)]) as ipaddr.IPv6;
  return address.isIPv4MappedAddress() ? `::ffff:${address.toIPv4Address().toString()}` : address.toRFC5952String();
}
