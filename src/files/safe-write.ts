/**
 * The one way ecli and ecc write a file (pull's package, pack's tarball, docker's config.json,
 * ecc's outputs and caches), safe when run as root in a folder other users can write:
 *
 * - The bytes go into a new temporary file beside the target: a random name, created with
 *   O_CREAT|O_EXCL|O_NOFOLLOW (nothing planted there is opened or followed), mode 0600 while it
 *   is written, flushed, then put in place in one step. A failure (a full disk, a killed process)
 *   leaves what was there untouched.
 * - A new file is put in place with link(2), which fails if something appeared at that name in the
 *   meantime: it never replaces a file it did not check. It gets `mode` (less the umask).
 * - An existing regular file is replaced (rename) only when the caller allows it; the new file
 *   keeps the old one's mode, and its owner when ecli runs as root.
 * - A symlink is followed (the file it points to is replaced, the link stays, as docker writes its
 *   config.json) only when every link in the chain belongs to the caller or to root: another
 *   user's link is refused, so nobody can point root's writes at a file of their choice.
 * - Devices, FIFOs, sockets and folders are never written to.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readlinkSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, isAbsolute } from 'node:path';
import { Writable } from 'node:stream';
import { EcliError } from '../errors.js';

export interface SafeWriteOptions {
  /**
   * What to do when the target exists: `replace` it (the user named it, or it is the command's
   * own output), or `refuse` (a name ecli chose must not replace anyone's file); `refuseHint` says
   * how to replace it anyway.
   */
  existing: 'replace' | 'refuse';
  refuseHint?: string;
  /** The hint of the other refusals (a folder, a device, a dangling link): how to name another file. */
  hint?: string;
  /** The mode of a new file, less the umask; 0o666 by default. An existing file keeps its own. */
  mode?: number;
  /** The content is a secret: an existing file keeps its mode less any group or other permission. */
  secret?: boolean;
}

/**
 * Writes `content` to `path`: bytes, text, or a function that writes to a stream (it may end
 * the stream, e.g. with pipeline). Returns the file written: `path`, or where its symlinks lead.
 */
export async function writeFileSafely(
  path: string,
  content: Uint8Array | string | ((out: Writable) => Promise<void>),
  options: SafeWriteOptions,
): Promise<string> {
  if (typeof content !== 'function') return writeFileSafelySync(path, content, options);
  const plan = planWrite(path, options);
  const temp = openTemporary(plan, options);
  // Writes synchronously, and never closes the descriptor: its life stays with this function.
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        writeAll(temp.fd, chunk);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
  try {
    await content(out);
    if (!out.writableFinished) await new Promise<void>((done, fail) => out.once('error', fail).end(done));
    finish(plan, temp, options);
  } catch (error) {
    out.destroy();
    throw failed(plan, temp, error);
  }
  return plan.target;
}

export function writeFileSafelySync(path: string, content: Uint8Array | string, options: SafeWriteOptions): string {
  const plan = planWrite(path, options);
  const temp = openTemporary(plan, options);
  try {
    writeAll(temp.fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    finish(plan, temp, options);
  } catch (error) {
    throw failed(plan, temp, error);
  }
  return plan.target;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
}

/** A file-system error while writing `target`, as a typed error saying what was kept. */
export function writeError(target: string, error: unknown, existed: boolean): EcliError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOSPC'
      ? 'no space left on device'
      : code === 'EDQUOT'
        ? 'disk quota exceeded'
        : code === 'EACCES' || code === 'EPERM'
          ? `permission denied in ${dirname(target)}`
          : code === 'EROFS'
            ? 'read-only file system'
            : code === 'EIO'
              ? 'input/output error'
              : (error as Error).message;
  const kept = existed ? 'the existing file is unchanged' : 'nothing was written';
  return new EcliError('RUNTIME', `cannot write ${target}: ${why}; ${kept}`, { cause: error });
}

interface Plan {
  /** The name the caller gave, for messages. */
  path: string;
  /** The file to create or replace: `path`, or where its symlinks lead. */
  target: string;
  existing: Stats | undefined;
}

interface Temporary {
  fd: number;
  path: string;
  closed: boolean;
}

const MAX_LINKS = 40;
const CREATE_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW;

/** Where the bytes go, decided once: follows the symlinks the caller may follow, refuses what may not be written. */
function planWrite(path: string, options: SafeWriteOptions): Plan {
  // What the kernel would reach (a /proc magic link such as /dev/stdout included): only its kind matters here.
  const reached = statOrUndefined(path);
  if (reached !== undefined && !reached.isFile() && !reached.isDirectory()) {
    throw refusal(`cannot write ${path}: it is ${fileKind(reached)}, not a regular file`, options.hint);
  }
  const target = followOwnLinks(path, 'write', options.hint);
  const existing = lstatOrUndefined(target);
  if (existing === undefined) {
    requireFolder(dirname(target), path, options.hint);
    return { path, target, existing };
  }
  if (existing.isDirectory()) throw refusal(`cannot write ${path}: it is a folder`, options.hint);
  if (!existing.isFile()) throw refusal(`cannot write ${path}: it is ${fileKind(existing)}, not a regular file`, options.hint);
  if (options.existing === 'refuse') {
    throw refusal(`cannot write ${path}: it already exists, and ecli replaces only a file it was told to`, options.refuseHint);
  }
  return { path, target, existing };
}

/**
 * `path` with its last component's symlinks followed, each checked: a link belonging to neither
 * the caller nor root is refused (USAGE), as is a loop, and for writing a dangling link. Also for
 * reading a file whose content matters, such as docker's config.json (a dangling link then leads
 * to a missing file). Folders on the way are left to the kernel (whose protected_symlinks guards
 * them in sticky folders): paths are not normalised, so `..` in a link means what the kernel
 * makes of it.
 */
export function followOwnLinks(path: string, purpose: 'read' | 'write', hint?: string): string {
  let current = path;
  for (let links = 0; ; links++) {
    const stats = lstatOrUndefined(current);
    if (stats === undefined || !stats.isSymbolicLink()) return current;
    if (links === MAX_LINKS) throw refusal(`cannot ${purpose} ${path}: it is a symlink loop`, hint);
    const euid = process.geteuid?.() ?? 0;
    if (stats.uid !== euid && stats.uid !== 0) {
      throw refusal(
        `cannot ${purpose} ${path}: ${current === path ? 'it' : current} is a symlink owned by uid ${stats.uid}, and ecli follows only its own user's or root's symlinks`,
        'remove the link, or name the file it points to',
      );
    }
    let link: string;
    try {
      link = readlinkSync(current);
    } catch (error) {
      throw refusal(`cannot ${purpose} ${path}: ${(error as Error).message}`, hint);
    }
    const next = isAbsolute(link) ? link : `${dirname(current)}/${link}`;
    if (purpose === 'write' && lstatOrUndefined(next) === undefined) throw refusal(`cannot write ${path}: it is a dangling symlink (to ${link})`, hint);
    current = next;
  }
}

function openTemporary(plan: Plan, options: SafeWriteOptions): Temporary {
  const path = `${dirname(plan.target)}/.${basename(plan.target)}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // A new file gets its final mode (the kernel applies the umask); a replacement the old one's, below.
    return { fd: openSync(path, CREATE_FLAGS, plan.existing === undefined ? (options.mode ?? 0o666) : 0o600), path, closed: false };
  } catch (error) {
    throw writeError(plan.path, error, plan.existing !== undefined);
  }
}

/** Flushes the temporary file and puts it in place: link for a new file, rename over an existing one. */
function finish(plan: Plan, temp: Temporary, options: SafeWriteOptions): void {
  if (plan.existing !== undefined) {
    if (process.geteuid?.() === 0 && fstatSync(temp.fd).uid !== plan.existing.uid) fchownSync(temp.fd, plan.existing.uid, plan.existing.gid);
    // The permission bits only: set-id bits do not carry over to new content.
    fchmodSync(temp.fd, plan.existing.mode & (options.secret === true ? 0o700 : 0o777));
  }
  fsyncSync(temp.fd);
  closeSync(temp.fd);
  temp.closed = true;
  if (plan.existing !== undefined) {
    renameSync(temp.path, plan.target);
    return;
  }
  try {
    linkSync(temp.path, plan.target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw appeared(plan);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    // A file system without hard links (vfat): the check is no longer atomic, but still made.
    if (lstatOrUndefined(plan.target) !== undefined) throw appeared(plan);
    renameSync(temp.path, plan.target);
    return;
  }
  unlinkSync(temp.path);
}

function appeared(plan: Plan): EcliError {
  return refusal(`cannot write ${plan.path}: something appeared at that name while ecli was writing it; it was left alone`);
}

function failed(plan: Plan, temp: Temporary, error: unknown): EcliError {
  if (!temp.closed) closeSync(temp.fd);
  try {
    unlinkSync(temp.path);
  } catch {
    // already renamed or linked into place, or removed by someone else
  }
  return error instanceof EcliError ? error : writeError(plan.path, error, plan.existing !== undefined);
}

function requireFolder(folder: string, shown: string, hint: string | undefined): void {
  let stats: Stats;
  try {
    stats = statSync(folder);
  } catch {
    throw refusal(`cannot write ${shown}: its folder ${folder} does not exist`, hint);
  }
  if (!stats.isDirectory()) throw refusal(`cannot write ${shown}: ${folder} is not a folder`, hint);
}

/** What a file that is not a regular file is, for messages: `a FIFO`, `a character device`. */
export function fileKind(stats: Stats): string {
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function refusal(message: string, hint?: string): EcliError {
  return new EcliError('USAGE', message, hint === undefined ? {} : { hint });
}
