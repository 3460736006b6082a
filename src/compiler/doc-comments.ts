/**
 * Doc-comment annotations (`/// @sample {...}`, `/// @cmdarg {...}`, `/// @brief ...`) turned into
 * meta keys, with the reference's rules:
 * - in each paragraph the key starts as `description`; an inline command `@word` switches it to
 *   `word`; each non-blank text line, trimmed, is stored as JSON if it parses, else as a string;
 *   later lines overwrite earlier ones;
 * - block commands (`@brief`, `@details`, `@version`, ...) store their text lines joined by `\n`
 *   and trimmed, as a string.
 * Deliberate differences: `description` is always a string (the reference stores `/// 123` as a
 * number, which its runner then rejects), and keys may contain `_` (`@perf_event`,
 * `@export_config`), which clang's comment lexer splits after the reference's `@perf`.
 */
import { didYouMean } from '../suggest.js';
import { CONTAINER_MARKS, DISPLAY_HINTS, type BpfSkeletonMeta, type ContainerMark, type DisplayHint } from '../package/types.js';
import type { CommentNode, HeaderRecord, SourceDecl } from './ast-scan.js';

export interface CommentKeys {
  keys: Record<string, unknown>;
  /** Lines of a key other than `description` that were not JSON and were kept as strings. */
  notJson: Array<{ key: string; text: string }>;
}

const DEFAULT_KEY = 'description';

export function commentKeys(full: CommentNode): CommentKeys {
  const result: CommentKeys = { keys: {}, notJson: [] };
  for (const child of full.inner ?? []) {
    if (child.kind === 'ParagraphComment') readParagraph(child, result);
    else if (child.kind === 'BlockCommandComment' && child.name) result.keys[child.name] = blockText(child);
  }
  return result;
}

function readParagraph(paragraph: CommentNode, result: CommentKeys): void {
  let key = DEFAULT_KEY;
  let afterCommand = false;
  for (const node of paragraph.inner ?? []) {
    if (node.kind === 'InlineCommandComment' && node.name) {
      key = node.name;
      afterCommand = true;
      continue;
    }
    if (node.kind !== 'TextComment') continue;
    let text = node.text ?? '';
    // clang ends a command name at the first non-alphanumeric character, so `@perf_event {...}`
    // arrives as command `perf` then text `_event {...}`: rejoin the name.
    const rest = afterCommand ? /^_\w*/.exec(text)?.[0] : undefined;
    if (rest) {
      key += rest;
      text = text.slice(rest.length);
    }
    afterCommand = false;
    storeText(key, text, result);
  }
}

function storeText(key: string, raw: string, result: CommentKeys): void {
  const text = raw.trim();
  if (!text) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    if (key !== DEFAULT_KEY) result.notJson.push({ key, text });
    value = text;
  }
  result.keys[key] = key === DEFAULT_KEY && typeof value !== 'string' ? text : value;
}

function blockText(block: CommentNode): string {
  const paragraph = block.inner?.find((n) => n.kind === 'ParagraphComment');
  const lines = (paragraph?.inner ?? []).filter((n) => n.kind === 'TextComment').map((n) => `${n.text ?? ''}\n`);
  return lines.join('').trim();
}

/** Keys a comment may not set, because they identify the entry. */
const RESERVED = {
  variable: ['name', 'type'],
  map: ['name', 'ident', 'mmaped'],
  program: ['name', 'attach', 'link'],
} as const;

/**
 * Merges the doc comments of the main file's declarations into a skeleton:
 * globals by VarDecl name, programs by FunctionDecl name, maps from the comment above
 * `struct {` (the struct defined in the map's own declaration; otherwise the map variable's
 * own comment), and `doc` from the comment on `LICENSE`.
 */
export function applyDocComments(skel: BpfSkeletonMeta, decls: readonly SourceDecl[]): { skel: BpfSkeletonMeta; warnings: string[] } {
  const warnings: string[] = [];
  const merge = (target: Record<string, unknown>, comment: CommentNode | undefined, what: string, reserved: readonly string[]): Record<string, unknown> => {
    if (!comment) return target;
    const { keys, notJson } = commentKeys(comment);
    for (const { key, text } of notJson) warnings.push(`@${key} of ${what} is not JSON; kept as the string ${JSON.stringify(text)}`);
    const merged = { ...target };
    for (const [key, value] of Object.entries(keys)) {
      if (reserved.includes(key)) warnings.push(`@${key} of ${what} is ignored: ecc sets "${key}" itself`);
      else merged[key] = value;
    }
    return merged;
  };
  const named = (kind: string, name: string) => decls.filter((d) => d.kind === kind && d.name === name);

  const data_sections = skel.data_sections.map((section) => ({
    ...section,
    variables: section.variables.map((v) =>
      named('VarDecl', v.name).reduce((acc, d) => merge(acc, d.comment, `variable ${v.name}`, RESERVED.variable), v as Record<string, unknown>),
    ),
  }));
  const maps = skel.maps.map((m) => mapComments(decls, m.name).reduce((acc, c) => merge(acc, c, `map ${m.name}`, RESERVED.map), m as Record<string, unknown>));
  const progs = skel.progs.map((p) =>
    named('FunctionDecl', p.name).reduce((acc, d) => merge(acc, d.comment, `program ${p.name}`, RESERVED.program), p as Record<string, unknown>),
  );
  const license = named('VarDecl', 'LICENSE').filter((d) => d.comment);
  const doc = license.length > 0 ? merge({}, license[license.length - 1]!.comment, 'LICENSE', []) : undefined;
  return {
    skel: { ...skel, data_sections, maps, progs, ...(doc ? { doc } : {}) } as BpfSkeletonMeta,
    warnings,
  };
}

function mapComments(decls: readonly SourceDecl[], mapName: string): Array<CommentNode | undefined> {
  return decls.flatMap((decl, i) => {
    if (decl.kind !== 'VarDecl' || decl.name !== mapName) return [];
    const previous = decls[i - 1];
    const ownStruct = previous?.kind === 'RecordDecl' && previous.begin !== undefined && previous.begin === decl.begin;
    return [ownStruct ? previous.comment : decl.comment];
  });
}

/** Display hints by struct name, then member name. */
export type MemberDisplayHints = Map<string, Map<string, DisplayHint>>;
/** Container marks by struct name, then member name. */
export type MemberContainerMarks = Map<string, Map<string, ContainerMark>>;

/**
 * The `/// @display "..."` and `/// @container "..."` comments of the header's struct members.
 * Other keys of a member's comment are ignored (its plain text, the `description`, silently).
 */
export function memberDisplayHints(records: readonly HeaderRecord[]): { hints: MemberDisplayHints; containers: MemberContainerMarks; warnings: string[] } {
  const hints: MemberDisplayHints = new Map();
  const containers: MemberContainerMarks = new Map();
  const warnings: string[] = [];
  const choices = (values: readonly string[]): string => values.map((h) => `"${h}"`).join(', ');
  for (const record of records) {
    const members = new Map<string, DisplayHint>();
    const marks = new Map<string, ContainerMark>();
    for (const field of record.fields) {
      if (!field.comment) continue;
      const what = `member ${field.name} of struct ${record.name}`;
      const { keys } = commentKeys(field.comment);
      for (const [key, value] of Object.entries(keys)) {
        if (key === DEFAULT_KEY) continue;
        if (key === 'display') {
          if (isDisplayHint(value)) members.set(field.name, value);
          else {
            const close = typeof value === 'string' ? didYouMean(value, DISPLAY_HINTS, (h) => `"${h}"`) : '';
            warnings.push(`@display ${JSON.stringify(value)} of ${what} is ignored${close}: use one of ${choices(DISPLAY_HINTS)}`);
          }
        } else if (key === 'container') {
          if ((CONTAINER_MARKS as readonly unknown[]).includes(value)) marks.set(field.name, value as ContainerMark);
          else warnings.push(`@container ${JSON.stringify(value)} of ${what} is ignored: use one of ${choices(CONTAINER_MARKS)}`);
        } else warnings.push(`@${key} of ${what} is ignored: struct members take only @display and @container`);
      }
    }
    hints.set(record.name, members);
    containers.set(record.name, marks);
  }
  return { hints, containers, warnings };
}

function isDisplayHint(value: unknown): value is DisplayHint {
  return (DISPLAY_HINTS as readonly unknown[]).includes(value);
}
