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
 *   config.json) only when it belongs to the caller or to root, at the name and in every folder on
 *   the way (src/files/safe-path): another user's link is refused, so nobody can point root's
 *   writes at a file of their choice. The folder written into is held open from the checks to the
 *   write, so swapping a folder on the way for a symlink meanwhile redirects nothing.
 * - Devices, FIFOs, sockets and folders are never written to.
 */
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { EcliError } from '../errors.js';
import { locate, locateFolder, type HeldFolder } from './safe-path.js';
import { lstatOrUndefined, statOrUndefined } from './stat.js';

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
  let temp: Temporary;
  try {
    temp = openTemporary(plan, options);
  } catch (error) {
    plan.folder.close();
    throw error;
  }
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
  } finally {
    plan.folder.close();
  }
  return plan.target;
}

export function writeFileSafelySync(path: string, content: Uint8Array | string, options: SafeWriteOptions): string {
  const plan = planWrite(path, options);
  try {
    const temp = openTemporary(plan, options);
    try {
      writeAll(temp.fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
      finish(plan, temp, options);
    } catch (error) {
      throw failed(plan, temp, error);
    }
  } finally {
    plan.folder.close();
  }
  return plan.target;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
}

/** A file-system error while writing `target`, as a typed error saying what was kept. */
export function writeError(target: string, error: unknown, existed: boolean, hint?: string): EcliError {
  const kept = existed ? 'the existing file is unchanged' : 'nothing was written';
  return new EcliError('RUNTIME', `cannot write ${target}: ${failureReason(error, ` in ${dirname(target)}`)}; ${kept}`, {
    cause: error,
    ...(hint === undefined ? {} : { hint }),
  });
}

/** Why a write failed, in a few words; `where` follows "permission denied". */
function failureReason(error: unknown, where: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return 'no space left on device';
  if (code === 'EDQUOT') return 'disk quota exceeded';
  if (code === 'EACCES' || code === 'EPERM') return `permission denied${where}`;
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'EIO') return 'input/output error';
  return (error as Error).message;
}

/**
 * The checks writeFileSafely makes of `path` before it writes (symlinks, what is there, whether
 * it may be replaced, whether its folder can be written), made now and nothing written: for a
 * command that downloads before it writes (pull), so that a destination it would refuse is
 * refused before anything is downloaded. writeFileSafely makes them again when it writes.
 */
export function checkWritable(path: string, options: SafeWriteOptions): void {
  const plan = planWrite(path, options);
  try {
    accessSync(plan.folder.entry('.'), constants.W_OK);
  } catch (error) {
    throw writeError(plan.path, error, plan.existing !== undefined, options.hint);
  } finally {
    plan.folder.close();
  }
}

/**
 * What can be checked of a write into `folder` before the file's name is known: no other user's
 * symlink on the way, and a folder ecli can write (not read-only, not another user's 0755 one
 * when ecli is not root).
 */
export function checkFolderWritable(folder: string, hint?: string): void {
  const held = locateFolder(folder, 'write into', hint);
  try {
    accessSync(held.entry('.'), constants.W_OK);
  } catch (error) {
    throw new EcliError('RUNTIME', `cannot write into ${folder}: ${failureReason(error, '')}; nothing was written`, {
      cause: error,
      ...(hint === undefined ? {} : { hint }),
    });
  } finally {
    held.close();
  }
}

interface Plan {
  /** The name the caller gave, for messages. */
  path: string;
  /** The file to create or replace, for messages and the caller: `path`, or where its symlinks lead. */
  target: string;
  /** The folder it is in, held open; `name` is its entry there. */
  folder: HeldFolder;
  name: string;
  existing: Stats | undefined;
}

interface Temporary {
  fd: number;
  /** Its entry in the plan's folder. */
  name: string;
  closed: boolean;
}

const CREATE_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW;

/** Where the bytes go, decided once: follows the symlinks the caller may follow, refuses what may not be written. */
function planWrite(path: string, options: SafeWriteOptions): Plan {
  // What the kernel would reach (a /proc magic link such as /dev/stdout included): only its kind matters here.
  const reached = statOrUndefined(path);
  if (reached !== undefined && !reached.isFile() && !reached.isDirectory()) {
    throw refusal(`cannot write ${path}: it is ${fileKind(reached)}, not a regular file`, options.hint);
  }
  const { folder, name, linkText } = locate(path, 'write', options.hint);
  try {
    const target = folder.path === '/' ? `/${name}` : `${folder.path}/${name}`;
    const existing = lstatOrUndefined(folder.entry(name));
    if (existing === undefined) {
      if (linkText !== undefined) throw refusal(`cannot write ${path}: it is a dangling symlink (to ${linkText})`, options.hint);
      return { path, target, folder, name, existing };
    }
    if (existing.isDirectory()) throw refusal(`cannot write ${path}: it is a folder`, options.hint);
    if (!existing.isFile()) throw refusal(`cannot write ${path}: it is ${fileKind(existing)}, not a regular file`, options.hint);
    if (options.existing === 'refuse') {
      throw refusal(`cannot write ${path}: it already exists, and ecli replaces only a file it was told to`, options.refuseHint);
    }
    return { path, target, folder, name, existing };
  } catch (error) {
    folder.close();
    throw error;
  }
}

function openTemporary(plan: Plan, options: SafeWriteOptions): Temporary {
  const name = `.${plan.name}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // A new file gets its final mode (the kernel applies the umask); a replacement the old one's, below.
    return { fd: openSync(plan.folder.entry(name), CREATE_FLAGS, plan.existing === undefined ? (options.mode ?? 0o666) : 0o600), name, closed: false };
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
  const from = plan.folder.entry(temp.name);
  const to = plan.folder.entry(plan.name);
  if (plan.existing !== undefined) {
    renameSync(from, to);
    return;
  }
  try {
    linkSync(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw appeared(plan);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    // A file system without hard links (vfat): the check is no longer atomic, but still made.
    if (lstatOrUndefined(to) !== undefined) throw appeared(plan);
    renameSync(from, to);
    return;
  }
  unlinkSync(from);
}

function appeared(plan: Plan): EcliError {
  return refusal(`cannot write ${plan.path}: something appeared at that name while ecli was writing it; it was left alone`);
}

function failed(plan: Plan, temp: Temporary, error: unknown): EcliError {
  if (!temp.closed) closeSync(temp.fd);
  try {
    unlinkSync(plan.folder.entry(temp.name));
  } catch {
    // already renamed or linked into place, or removed by someone else
  }
  return error instanceof EcliError ? error : writeError(plan.path, error, plan.existing !== undefined);
}

/** What a file that is not a regular file is, for messages: `a FIFO`, `a character device`. */
export function fileKind(stats: Stats): string {
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

function refusal(message: string, hint?: string): EcliError {
  return new EcliError('USAGE', message, hint === undefined ? {} : { hint });
}
