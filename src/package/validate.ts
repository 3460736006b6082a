/**
 * Schema validation of packages and metas against schemas/package.schema.json, with ajv errors
 * turned into one readable line, followed by normalisation of the nulls the format allows.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { EcliError } from '../errors.js';
import { oneLine } from './one-line.js';
import * as generated from './schema-validators.js';
import type {
  BpfSkeletonDoc,
  BpfSkeletonMeta,
  ComposedPackage,
  EunomiaObjectMeta,
  ExportedTypesStructMeta,
  MapMeta,
  MapSampleMeta,
  ProgMeta,
} from './types.js';

const MAX_LISTED_ERRORS = 3;
const REBUILD_HINT = 'was it written by ecc? rebuild it with ./ecc';

/**
 * The schema's validators, compiled ahead of time by scripts/gen-validators.mjs (make build runs
 * it), so no schema is compiled at run time.
 */
const validators = generated as unknown as { pkg: ValidateFunction; meta: ValidateFunction };

/** Validates a parsed package.json; returns it with nulls normalised. */
export function validatePackage(json: unknown, source: string): ComposedPackage {
  const { pkg } = validators;
  if (isBareMeta(json)) {
    throw new EcliError('PACKAGE_INVALID', `${source} is a package meta (a <name>.skel.json) without its BPF object`, {
      hint: 'run the package.json that ecc wrote next to it',
    });
  }
  if (isNpmManifest(json)) {
    throw new EcliError('PACKAGE_INVALID', `${source} is an npm project's package.json, not an eBPF package`, {
      hint: "run the package.json that ecc writes (ecc prog.bpf.c prog.h -o <dir> keeps it apart from the project's)",
    });
  }
  if (!pkg(json)) throw invalid(`invalid package ${source}`, pkg.errors);
  const raw = json as WirePackage;
  return { ...raw, meta: normaliseMeta(raw.meta) } as ComposedPackage;
}

/** Validates a bare meta object (what ecc writes to <name>.skel.json). */
export function validateMeta(json: unknown, source: string): EunomiaObjectMeta {
  const { meta } = validators;
  if (!meta(json)) throw invalid(`invalid package meta ${source}`, meta.errors);
  return normaliseMeta(json as WireMeta);
}

/** A Node project's manifest, the other file named package.json: none of a package's members, some of npm's. */
function isNpmManifest(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || 'bpf_object' in json || 'meta' in json) return false;
  return ['dependencies', 'devDependencies', 'scripts', 'main', 'exports'].some((key) => key in json) || ('name' in json && 'version' in json);
}

function isBareMeta(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'bpf_skel' in json && !('bpf_object' in json);
}

// The parts of the wire format that normalisation changes; the schema has checked the rest.
interface WireMap {
  sample?: MapSampleMeta | null;
  [key: string]: unknown;
}
interface WireSkeleton {
  maps: WireMap[] | null;
  progs: ProgMeta[] | null;
  doc?: BpfSkeletonDoc | null;
  [key: string]: unknown;
}
interface WireMeta {
  bpf_skel: WireSkeleton;
  export_types?: ExportedTypesStructMeta[];
  [key: string]: unknown;
}
interface WirePackage {
  meta: WireMeta;
  [key: string]: unknown;
}

function normaliseMeta(meta: WireMeta): EunomiaObjectMeta {
  const { doc, maps, progs, ...skel } = meta.bpf_skel;
  const bpfSkel = {
    ...skel,
    ...(doc === null || doc === undefined ? {} : { doc }),
    maps: (maps ?? []).map(normaliseMap),
    progs: progs ?? [],
  } as BpfSkeletonMeta;
  return { ...meta, export_types: meta.export_types ?? [], bpf_skel: bpfSkel };
}

function normaliseMap(map: WireMap): MapMeta {
  const { sample, ...rest } = map;
  return (sample === null || sample === undefined ? rest : { ...rest, sample }) as MapMeta;
}

function invalid(prefix: string, errors: ErrorObject[] | null | undefined): EcliError {
  const parts = [...new Set((errors ?? []).filter((e) => e.keyword !== 'if').map(describeError))];
  const listed = parts.slice(0, MAX_LISTED_ERRORS).join('; ');
  const more = parts.length > MAX_LISTED_ERRORS ? ` (and ${parts.length - MAX_LISTED_ERRORS} more)` : '';
  return new EcliError('PACKAGE_INVALID', `${prefix}: ${listed || 'does not match the package schema'}${more}`, {
    hint: REBUILD_HINT,
    detail: parts.join('\n'),
  });
}

/** One ajv error as "<JSON pointer> <expectation>", e.g. `/meta/bpf_skel/obj_name is required`. */
function describeError(error: ErrorObject): string {
  const at = error.instancePath;
  const where = at === '' ? 'the document' : at;
  const params = error.params as Record<string, unknown>;
  let text: string;
  switch (error.keyword) {
    case 'required':
      text = `${at}/${escapePointer(String(params.missingProperty))} is required`;
      break;
    case 'additionalProperties':
      text = `${at}/${escapePointer(String(params.additionalProperty))} is not allowed`;
      break;
    case 'type':
      text = `${where} must be ${String(params.type).split(',').join(' or ')}`;
      break;
    case 'enum':
      text = `${where} must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')} (got ${preview(error.data)})`;
      break;
    case 'minProperties':
      text = `${where} must have at least ${String(params.limit)} key(s)`;
      break;
    case 'maxProperties':
      text = `${where} must have at most ${String(params.limit)} key(s)`;
      break;
    default:
      text = `${where} ${error.message ?? 'is invalid'}`;
  }
  return oneLine(text);
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function preview(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
