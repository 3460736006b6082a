/** Looking at a path without failing: what is there, or undefined when nothing can be seen there. */
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';

/** What `path` leads to (symlinks followed); undefined when there is nothing, or it cannot be looked at. */
export function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** What is at `path` itself (a symlink as one, a dangling one included); undefined when there is nothing, or it cannot be looked at. */
export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** The names of the folders in `dir`; undefined when it cannot be read. */
export function subdirectoriesOf(dir: string): string[] | undefined {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return undefined;
  }
}
