/**
 * Finding where a path leads as the kernel would, one component at a time, so that a symlink ecli
 * may not follow is refused wherever it is on the way, a folder as much as the last name: with
 * fs.protected_symlinks off (or outside sticky folders), another user's `/tmp/build -> /root`
 * would otherwise lead root's writes into /root. Only symlinks owned by the caller or by root
 * are followed.
 *
 * The folder found stays the folder used: it is held open, and its entries are named through
 * `/proc/self/fd/<fd>/<name>`, so a folder on the way renamed, or swapped for a symlink, between
 * the checks and the write cannot redirect it.
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readlinkSync, type Stats } from 'node:fs';
import { EcliError } from '../errors.js';

/** A folder held open; its entries are reached through the descriptor, never by its path again. */
export interface HeldFolder {
  /** A path to the entry `name` of this folder that the kernel resolves through the open descriptor. */
  entry(name: string): string;
  /** The folder's path as walked, for messages and for callers that report where they wrote. */
  readonly path: string;
  readonly fd: number;
  close(): void;
}

export interface Located {
  folder: HeldFolder;
  /** The last component: nothing there, or anything but a symlink. */
  name: string;
  /** When the last component was reached through symlinks: what the last of them says (its readlink). */
  linkText: string | undefined;
}

const MAX_LINKS = 40;
const STICKY = 0o1000;
const FOLDER_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** Without /proc (rare on Linux), entries are named by path: the links are still checked, the folder is not pinned. */
const HAVE_PROC_FD = existsSync('/proc/self/fd');

/** What a trusted read refuses: a file or folder that a user other than the caller or root can change. */
export const TRUST_HINT =
  'a signing policy and the public keys ecli checks with must be changeable only by root or the user running ecli: chown them (and their folders) to root, and chmod go-w';

/**
 * The open folder that holds `path`'s last component, and that component, with every symlink on
 * the way (the last component's included) followed only when it belongs to the caller or root.
 * Refusals are USAGE errors naming `path`: another user's link, a loop, a missing folder, a
 * component that is not a folder. `verb` is what ecli was doing (`write`, `read`). `trusted`:
 * also refuse every folder on the way that another user could change (see othersMayChange), for
 * files whose content decides what ecli trusts.
 */
export function locate(path: string, verb: string, hint?: string, trusted = false): Located {
  return walk(path, verb, hint, trusted, false);
}

/**
 * The folder `path` itself, held open, walked as locate walks (another user's symlink anywhere on
 * the way refused, `path`'s own last component included): for a check made before the name of
 * the file to write into it is known. Refusals are USAGE errors naming `path`.
 */
export function locateFolder(path: string, verb: string, hint?: string): HeldFolder {
  return walk(path, verb, hint, false, true).folder;
}

/** locate, or with `intoFolder` locateFolder (every component a folder to enter; `name` is then empty). */
function walk(path: string, verb: string, hint: string | undefined, trusted: boolean, intoFolder: boolean): Located {
  const fail = (what: string, failHint = hint): never => {
    throw new EcliError('USAGE', `cannot ${verb} ${path}: ${what}`, failHint === undefined ? {} : { hint: failHint });
  };
  const checked = (held: HeldFolder): void => {
    const why = trusted ? othersMayChange(fstatSync(held.fd), true) : undefined;
    if (why !== undefined) {
      held.close();
      fail(`${held.path === '/' ? 'the root folder' : `its folder ${held.path}`} ${why}, so another user could change what is read`, TRUST_HINT);
    }
  };
  if (!intoFolder && (path === '' || path.endsWith('/'))) fail('it is a folder');
  const euid = process.geteuid?.() ?? 0;
  // Relative paths start at the working folder, which getcwd names without symlinks.
  let pending = components(path.startsWith('/') ? path : `${process.cwd()}/${path}`);
  let folder = openRoot();
  checked(folder);
  let links = 0;
  let linkText: string | undefined;
  try {
    for (;;) {
      const name = pending.shift();
      if (name === undefined) return intoFolder ? { folder, name: '', linkText: undefined } : fail('it is a folder');
      const last = pending.length === 0 && !intoFolder;
      if (name === '..') {
        folder = enter(folder, name, parentPath(folder.path), fail);
        checked(folder);
        continue;
      }
      const shown = joinPath(folder.path, name);
      const stats = lstatOrUndefined(folder.entry(name), shown, fail);
      if (stats?.isSymbolicLink()) {
        // The path's own last component is "it" in messages; anything met on the way is named.
        const it = last && linkText === undefined ? 'it' : shown;
        if (++links > MAX_LINKS) fail(last ? 'it is a symlink loop' : `${shown} is a symlink loop`);
        if (stats.uid !== euid && stats.uid !== 0) {
          fail(
            `${it} is a symlink owned by uid ${stats.uid}, and ecli follows only its own user's or root's symlinks`,
            'remove the link, or name the file it points to',
          );
        }
        const target = readLink(folder.entry(name), fail);
        if (last) linkText = target;
        if (target.startsWith('/')) {
          folder.close();
          folder = openRoot();
          checked(folder);
        }
        pending = [...components(target), ...pending];
        if (pending.length === 0 && !intoFolder) fail(`${shown} leads to a folder`);
        continue;
      }
      if (last) {
        if (stats?.isDirectory()) fail('it is a folder');
        return { folder, name, linkText };
      }
      if (stats === undefined) return fail(`its folder ${shown} does not exist`);
      if (!stats.isDirectory()) fail(`${shown} is not a folder`);
      folder = enter(folder, name, shown, fail);
      checked(folder);
    }
  } catch (error) {
    folder.close();
    throw error;
  }
}

function components(path: string): string[] {
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

function openRoot(): HeldFolder {
  return hold(openSync('/', FOLDER_FLAGS), '/');
}

/**
 * Why another user than the caller or root could change what `stats` describes, or undefined:
 * owned by someone else, or writable by its group or by anyone. A folder with the sticky bit
 * (/tmp) lets others add entries but not replace those of root or the caller, which is enough.
 */
export function othersMayChange(stats: Stats, isFolder: boolean): string | undefined {
  const euid = process.geteuid?.() ?? 0;
  if (stats.uid !== euid && stats.uid !== 0) return `is owned by uid ${stats.uid}`;
  if (isFolder && (stats.mode & STICKY) !== 0) return undefined;
  if ((stats.mode & 0o002) !== 0) return 'is writable by anyone';
  if ((stats.mode & 0o020) !== 0) return `is writable by its group (gid ${stats.gid})`;
  return undefined;
}

/** Opens the subfolder `name` (never through a symlink: O_NOFOLLOW) and lets go of `folder`. */
function enter(folder: HeldFolder, name: string, shown: string, fail: (what: string) => never): HeldFolder {
  let fd: number;
  try {
    fd = openSync(folder.entry(name), FOLDER_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Checked as a folder a moment ago: someone swapped it for a link or a file meanwhile.
    return fail(code === 'ELOOP' || code === 'ENOTDIR' ? `${shown} changed while ecli was opening it` : `${shown}: ${(error as Error).message}`);
  } finally {
    folder.close();
  }
  return hold(fd, shown);
}

function hold(fd: number, path: string): HeldFolder {
  let open = true;
  return {
    fd,
    path,
    entry: (name) => (HAVE_PROC_FD ? `/proc/self/fd/${fd}/${name}` : joinPath(path, name)),
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

function readLink(path: string, fail: (what: string) => never): string {
  try {
    return readlinkSync(path);
  } catch (error) {
    return fail((error as Error).message);
  }
}

function joinPath(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

function parentPath(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

/** What is at `path`; undefined when nothing is. `shown` names it when it cannot be looked at. */
function lstatOrUndefined(path: string, shown: string, fail: (what: string) => never): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return fail(code === 'EACCES' ? `permission denied looking at ${shown}` : `${shown}: ${(error as Error).message}`);
  }
}
