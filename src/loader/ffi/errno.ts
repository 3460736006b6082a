/**
 * errno numbers → names and short descriptions, for messages such as
 * `cannot attach program x (tp/a/b): ENOENT (no such file or directory): ...`. Pure.
 */
import { constants } from 'node:os';

/** The errnos BPF loading and attaching actually return, with their glibc descriptions. */
const KNOWN: Record<number, [name: string, description: string]> = {
  1: ['EPERM', 'operation not permitted'],
  2: ['ENOENT', 'no such file or directory'],
  3: ['ESRCH', 'no such process'],
  4: ['EINTR', 'interrupted system call'],
  5: ['EIO', 'input/output error'],
  7: ['E2BIG', 'argument list too long'],
  9: ['EBADF', 'bad file descriptor'],
  11: ['EAGAIN', 'resource temporarily unavailable'],
  12: ['ENOMEM', 'cannot allocate memory'],
  13: ['EACCES', 'permission denied'],
  14: ['EFAULT', 'bad address'],
  16: ['EBUSY', 'device or resource busy'],
  17: ['EEXIST', 'file exists'],
  19: ['ENODEV', 'no such device'],
  22: ['EINVAL', 'invalid argument'],
  24: ['EMFILE', 'too many open files'],
  28: ['ENOSPC', 'no space left on device'],
  34: ['ERANGE', 'numerical result out of range'],
  38: ['ENOSYS', 'function not implemented'],
  95: ['EOPNOTSUPP', 'operation not supported'],
  524: ['ENOTSUPP', 'operation not supported by the kernel'],
};

const BY_NUMBER = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!BY_NUMBER.has(value)) BY_NUMBER.set(value, name);
}

/** `ENOENT` for 2 or -2; `errno 4242` when the number has no name. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return KNOWN[n]?.[0] ?? BY_NUMBER.get(n) ?? `errno ${n}`;
}

/** `ENOENT (no such file or directory)`, or just the name when there is no description. */
export function describeErrno(errno: number): string {
  const n = Math.abs(errno);
  const known = KNOWN[n];
  return known ? `${known[0]} (${known[1]})` : errnoName(n);
}

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EACCES = 13;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EOPNOTSUPP = 95;
