/**
 * Reads the top-level declarations of the main source file out of clang's JSON AST dump
 * (`clang -Xclang -ast-dump=json`), streaming: with vmlinux.h the dump can be ~200 MB, so only
 * main-file declarations are ever JSON-parsed.
 *
 * The dump is pretty-printed with two-space indentation, so the translation unit's declarations
 * are exactly the objects that open with `    {` and close with `    }` (four spaces). clang prints
 * a location's `file` only when it differs from the previously printed one, so the current file
 * is tracked across the whole stream (an `includedFrom` file does not change it).
 * Struct definitions of the event header are read too, for the doc comments of their members.
 */
import { EcliError } from '../errors.js';

/** A node of clang's comment AST (FullComment, ParagraphComment, TextComment, ...). */
export interface CommentNode {
  kind: string;
  name?: string;
  text?: string;
  inner?: CommentNode[];
}

export interface SourceDecl {
  kind: string;
  name?: string;
  /** Offset of the start of the declaration (the `struct` of `struct {...} m SEC(".maps")`). */
  begin?: number;
  comment?: CommentNode;
}

/** A struct the header defines, with the doc comment of each member. */
export interface HeaderRecord {
  name: string;
  fields: Array<{ name: string; comment?: CommentNode }>;
}

const DECLS_START = '\n  "inner": [\n';
const DECL_END = '\n    }';
const DECL_KINDS = new Set(['VarDecl', 'FunctionDecl', 'RecordDecl']);
const FILE_PATTERN = /("includedFrom": \{\s*)?"file": "((?:[^"\\]|\\.)*)"/g;
const KIND_PATTERN = /^ {6}"kind": "(\w+)"/m;
const LOC_START = '\n      "loc": {';
const LOC_END = '\n      }';

export class AstDeclScanner {
  readonly decls: SourceDecl[] = [];
  readonly records: HeaderRecord[] = [];
  private buffer = '';
  private searchFrom = 0;
  private inDecls = false;
  private currentFile: string | undefined;

  /** `isHeader` tells whether a file name, as clang prints it, is the event header. */
  constructor(
    private readonly mainFile: string,
    private readonly isHeader: (file: string) => boolean = () => false,
  ) {}

  push(text: string): void {
    this.buffer += text;
    if (!this.inDecls) {
      const at = this.buffer.indexOf(DECLS_START);
      if (at < 0) return;
      this.inDecls = true;
      this.buffer = this.buffer.slice(at + DECLS_START.length);
    }
    for (;;) {
      const end = this.buffer.indexOf(DECL_END, this.searchFrom);
      if (end < 0) {
        this.searchFrom = Math.max(0, this.buffer.length - DECL_END.length);
        return;
      }
      const declText = this.buffer.slice(this.buffer.indexOf('{'), end + DECL_END.length);
      this.buffer = this.buffer.slice(end + DECL_END.length);
      this.searchFrom = 0;
      this.scanDecl(declText);
    }
  }

  private scanDecl(text: string): void {
    const locAt = text.indexOf(LOC_START);
    const locEnd = locAt < 0 || text.startsWith('{}', locAt + LOC_START.length - 1) ? -1 : text.indexOf(LOC_END, locAt);
    let declFile: string | undefined;
    for (const match of text.matchAll(FILE_PATTERN)) {
      if (match[1] !== undefined) continue;
      if (locEnd >= 0 && match.index! > locEnd && declFile === undefined) declFile = this.currentFile;
      this.currentFile = JSON.parse(`"${match[2]}"`) as string;
    }
    if (locEnd < 0) return;
    declFile ??= this.currentFile;
    const kind = KIND_PATTERN.exec(text)?.[1];
    if (declFile === undefined || kind === undefined || !DECL_KINDS.has(kind)) return;
    const inMain = declFile === this.mainFile;
    const headerRecord = kind === 'RecordDecl' && this.isHeader(declFile);
    if (!inMain && !headerRecord) return;
    const decl = parseDecl(text);
    if (inMain) this.decls.push(summarize(decl));
    if (headerRecord && decl.name && decl.completeDefinition) this.records.push(summarizeRecord(decl));
  }
}

interface DeclJson {
  kind: string;
  name?: string;
  completeDefinition?: boolean;
  range?: { begin?: LocJson };
  inner?: DeclJson[];
}

interface LocJson {
  offset?: number;
  expansionLoc?: { offset?: number };
}

function parseDecl(text: string): DeclJson {
  try {
    return JSON.parse(text) as DeclJson;
  } catch (error) {
    throw new EcliError('INTERNAL', `cannot read clang's AST dump: ${(error as Error).message}`, {
      hint: 'this clang prints its JSON AST differently than clang 14-18; please report it with `clang --version`',
    });
  }
}

function summarize(decl: DeclJson): SourceDecl {
  const begin = decl.range?.begin;
  const comment = docComment(decl);
  return {
    kind: decl.kind,
    ...(decl.name === undefined ? {} : { name: decl.name }),
    ...(begin === undefined ? {} : { begin: begin.expansionLoc?.offset ?? begin.offset }),
    ...(comment === undefined ? {} : { comment }),
  };
}

/** The struct's own members (fields of nested structs are not members of the exported type). */
function summarizeRecord(decl: DeclJson): HeaderRecord {
  const fields = (decl.inner ?? [])
    .filter((node) => node.kind === 'FieldDecl')
    .map((field) => {
      const comment = docComment(field);
      return { name: field.name ?? '', ...(comment === undefined ? {} : { comment }) };
    });
  return { name: decl.name!, fields };
}

function docComment(decl: DeclJson): CommentNode | undefined {
  const comment = decl.inner?.find((node) => node.kind === 'FullComment') as CommentNode | undefined;
  return comment === undefined ? undefined : stripLocations(comment);
}

/** Keeps only what the doc-comment reader uses. */
function stripLocations(node: CommentNode): CommentNode {
  return {
    kind: node.kind,
    ...(node.name === undefined ? {} : { name: node.name }),
    ...(node.text === undefined ? {} : { text: node.text }),
    ...(node.inner === undefined ? {} : { inner: node.inner.map(stripLocations) }),
  };
}
