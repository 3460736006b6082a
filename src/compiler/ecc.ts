/**
 * The ecc pipeline: BPF C source (+ optional event header) → `<name>.bpf.o`, `<name>.skel.json`
 * and `package.json`, compatible with the reference eunomia-bpf ecc.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import path from 'node:path';
import { Btf } from '../btf/btf.js';
import { findSection, parseElf, type ElfFile } from '../elf/elf.js';
import { EcliError } from '../errors.js';
import { encodeBpfObject, stableStringify } from '../package/codec.js';
import type { BpfSkeletonMeta, ExportedTypesStructMeta } from '../package/types.js';
import { chooseBpfCpu } from './bpf-cpu.js';
import { writeFileAtomic } from './cache.js';
import { NO_KFUNC_PROTOTYPES, compileFlags, compileObject, vmlinuxClashes } from './compile.js';
import { unresolvedExterns } from './externs.js';
import { kernelTracepoints } from './kernel-tracepoints.js';
import { checkPrograms, programProblemHint, splitCheckOptOuts, type ProgramCheck } from './program-checks.js';
import { applyDocComments, memberDisplayHints } from './doc-comments.js';
import { buildExportTypes, dummyPointerDeclarations, headerStructNames } from './export-types.js';
import { objectBaseName, skeletonObjName } from './naming.js';
import { buildSkeleton } from './skeleton.js';
import { readSourceDecls, readSourceDeclsWithPch } from './source-decls.js';
import { resolveToolchain, targetArch } from './toolchain.js';
import { ensureVmlinuxHeader } from './vmlinux.js';
import { TOOL_NAME, TOOL_VERSION } from '../version.js';
import { WASM_SDK_HEADER, wasmSkeletonHeader } from './wasm-skeleton.js';
import { wasmSdkHeaderPath } from './wasm-sdk.js';

/** Written as `eunomia_version`: the reference ecc release whose package format this matches. */
export const ECC_COMPAT_VERSION = '0.3.4';

export interface EccLogger {
  /** Progress (`Compiling bpf object...`). */
  info(line: string): void;
  warn(line: string): void;
  /** clang's warnings, verbatim. */
  diagnostics(text: string): void;
  /** Verbose detail (`$ <command line>` of each tool run, fallbacks taken); only wired up with -v. */
  verbose?(line: string): void;
}

export interface EccOptions {
  source: string;
  /** Header whose structs become `export_types`. */
  header?: string;
  /** Compile the header given as `source` into a BTF-only object. */
  headerOnly?: boolean;
  /** Default: the source's directory. */
  outputDir?: string;
  additionalCflags?: readonly string[];
  clang?: string;
  llvmStrip?: string;
  /** Default true; false is `-n`. */
  generatePackage?: boolean;
  /** Also write `<name>.skel.h`, the C skeleton of a wasm-bpf guest, and the SDK header it includes. */
  wasmSkeleton?: boolean;
  env?: NodeJS.ProcessEnv;
  logger?: EccLogger;
  /** The kernel whose instruction set `-mcpu` targets; default: the running one (os.release()). */
  kernelRelease?: string;
}

export interface EccMeta {
  bpf_skel: BpfSkeletonMeta;
  export_types?: ExportedTypesStructMeta[];
  eunomia_version: string;
  /** Which ecc wrote it (`ecli-ts 0.1.0`): eunomia_version alone would say the reference's did. */
  built_by: string;
}

export interface EccResult {
  objectPath: string;
  skeletonPath: string;
  packagePath?: string;
  /** With `wasmSkeleton`: `<name>.skel.h`. */
  wasmSkeletonPath?: string;
  meta: EccMeta;
}

const silent: EccLogger = { info: () => {}, warn: () => {}, diagnostics: () => {} };

/** What each input must be named: ecc compiles C, so anything else is refused before clang sees it. */
const INPUT_SUFFIXES = { source: '.c', header: '.h' } as const;

function readInput(file: string, what: keyof typeof INPUT_SUFFIXES): string {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new EcliError('INPUT_NOT_FOUND', `${what} ${file} does not exist`, { hint: 'check the path' });
  }
  const suffix = INPUT_SUFFIXES[what];
  if (!file.endsWith(suffix)) {
    throw new EcliError('USAGE', `${what} ${file} is not a C ${what}: its name does not end in ${suffix}`, {
      hint:
        what === 'source'
          ? 'give the BPF program in C, e.g. ecc prog.bpf.c prog.h'
          : 'give the header that declares the event struct, e.g. ecc prog.bpf.c prog.h',
    });
  }
  const bytes = readFileSync(file);
  if (bytes.includes(0)) {
    throw new EcliError('USAGE', `${what} ${file} is not C text: it holds NUL bytes (a compiled object or other binary file?)`, {
      hint: 'give the C file the object was built from',
    });
  }
  return bytes.toString('utf8');
}

export async function runEccPipeline(options: EccOptions): Promise<EccResult> {
  const logger = options.logger ?? silent;
  const env = options.env ?? process.env;
  const log = logger.verbose?.bind(logger);
  if (options.headerOnly && options.header) {
    throw new EcliError('USAGE', '--header-only takes the header as the only input', {
      hint: 'run: ecc --header-only <header.h>',
    });
  }
  const source = options.source;
  const header = options.headerOnly ? source : options.header;
  if (!options.headerOnly && header !== undefined && source.endsWith(INPUT_SUFFIXES.header) && header.endsWith(INPUT_SUFFIXES.source)) {
    throw new EcliError('USAGE', `${source} and ${header} are the wrong way round: the C source comes first, then the header`, {
      hint: `run: ecc ${header} ${source}`,
    });
  }
  const sourceText = readInput(source, options.headerOnly ? 'header' : 'source');
  const headerText = header === undefined ? undefined : header === source ? sourceText : readInput(header, 'header');

  const name = objectBaseName(source);
  const outputDir = options.outputDir ?? path.dirname(source);
  if (options.generatePackage !== false) refuseForeignPackageJson(path.join(outputDir, PACKAGE_FILE));
  const objectFile = `${name}.bpf.o`;
  const objName = skeletonObjName(objectFile);
  const sourceDir = path.dirname(path.resolve(source));

  const { clangFlags: additionalCflags, disabled: disabledChecks } = splitCheckOptOuts(
    (options.additionalCflags ?? []).flatMap((f) => f.split(/\s+/).filter(Boolean)),
  );
  const [toolchain, vmlinux] = await Promise.all([
    resolveToolchain({ clang: options.clang ?? env.ECC_CLANG, llvmStrip: options.llvmStrip, env, cflags: additionalCflags }, log),
    ensureVmlinuxHeader({ env, log, progress: logger.info }),
  ]);
  const cpu = chooseBpfCpu(toolchain.clangVersion.major, options.kernelRelease ?? release(), additionalCflags);
  log?.(`-mcpu=${cpu.cpu ?? '(not given)'}: ${cpu.reason}`);
  const flags = compileFlags({ toolchain, arch: targetArch(), cpu: cpu.cpu, vmlinuxDir: vmlinux.dir, additionalCflags, sourceDir });

  const structNames = headerText === undefined ? [] : headerStructNames(headerText);
  const workDir = mkdtempSync(path.join(tmpdir(), 'ecc-'));
  try {
    const { input, inputFlags } =
      headerText === undefined
        ? { input: source, inputFlags: [...flags.base, ...flags.source] }
        : writeSourceCopy(workDir, source, sourceText, structNames, [...flags.base, ...flags.source]);
    const objectTemp = path.join(workDir, objectFile);

    logger.info('Compiling bpf object...');
    const context = {
      source,
      texts: headerText === undefined ? [sourceText] : [sourceText, headerText],
      cpu: cpu.cpu,
      cpuReason: cpu.reason,
      env,
      vmlinuxHeader: vmlinux.path,
    };
    const compileAndRead = async (base: string[]) => {
      const declOptions = { toolchain, vmlinuxHeader: vmlinux.path, baseFlags: base, sourceFlags: flags.source, source, header, env, log };
      const compiling = compileObject(toolchain, [...base, ...inputFlags.slice(flags.base.length)], input, objectTemp, context, log);
      const readingDocs = options.headerOnly ? Promise.resolve({ decls: [], records: [] }) : readSourceDeclsWithPch(declOptions);
      const [compiled, fastDocs] = await Promise.allSettled([compiling, readingDocs]);
      if (compiled.status === 'rejected') throw compiled.reason;
      if (fastDocs.status === 'rejected') throw fastDocs.reason;
      return { warnings: compiled.value, docs: fastDocs.value ?? (await readSourceDecls(declOptions)) };
    };
    let built: Awaited<ReturnType<typeof compileAndRead>>;
    try {
      built = await compileAndRead(flags.base);
    } catch (error) {
      // bpftool ≥ 7.4 writes kfunc prototypes into vmlinux.h; a source that declares those kfuncs
      // its own way (bpf_experimental.h copies) compiles without them, as with older bpftools.
      const clashes = error instanceof EcliError && error.detail !== undefined ? vmlinuxClashes(error.detail, readFileSync(vmlinux.path, 'utf8')) : undefined;
      if (clashes === undefined || clashes.kfuncs.length === 0 || clashes.types.length > 0 || flags.base.includes(NO_KFUNC_PROTOTYPES)) throw error;
      logger.info(`${source} declares the kfuncs ${clashes.kfuncs.join(', ')} otherwise than vmlinux.h: compiling again with ${NO_KFUNC_PROTOTYPES}`);
      built = await compileAndRead([...flags.base, NO_KFUNC_PROTOTYPES]);
    }
    if (built.warnings.trim()) logger.diagnostics(built.warnings);
    const docs = built.docs;

    const object = readFileSync(objectTemp);
    const elf = parseElf(object, objectFile);
    const btfSection = findSection(elf, '.BTF');
    if (!btfSection) {
      throw new EcliError('COMPILE_FAILED', `${objectFile} has no .BTF section`, { hint: 'clang must run with -g; check -a flags that disable debug info' });
    }
    const btf = Btf.parse(btfSection.data);
    refuseUnresolvedExterns(source, elf, btf);
    refuseProgramProblems(source, elf, vmlinux.path, disabledChecks);
    const documented = applyDocComments(buildSkeleton(elf, btf, objName), docs.decls);
    for (const warning of documented.warnings) logger.warn(`${source}: ${warning}`);

    const meta: EccMeta = { bpf_skel: documented.skel, eunomia_version: ECC_COMPAT_VERSION, built_by: `${TOOL_NAME} ${TOOL_VERSION}` };
    if (header !== undefined) {
      logger.info('Generating export types...');
      if (structNames.length === 0) logger.warn(`${header} defines no struct; export_types is empty`);
      const members = memberDisplayHints(docs.records);
      const exported = buildExportTypes(btf, structNames, { header, source }, members.hints, members.containers);
      for (const s of exported.undefinedStructs) logger.warn(`struct ${s} of ${header} is not defined in the compiled object; not exported`);
      for (const warning of [...members.warnings, ...exported.warnings]) logger.warn(`${header}: ${warning}`);
      meta.export_types = exported.types;
    }

    const written = writeArtifacts({ outputDir, name, object, meta, generatePackage: options.generatePackage !== false, logger });
    if (options.wasmSkeleton !== true) return written;
    logger.info('Generating wasm skeleton...');
    const skeletonHeader = wasmSkeletonHeader({ objName, objectFile, object, elf, btf, skeleton: documented.skel });
    const wasmSkeletonPath = path.join(outputDir, `${name}.skel.h`);
    writeFileAtomic(wasmSkeletonPath, skeletonHeader);
    writeFileAtomic(path.join(outputDir, WASM_SDK_HEADER), readFileSync(wasmSdkHeaderPath()));
    return { ...written, wasmSkeletonPath };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function refuseUnresolvedExterns(source: string, elf: ElfFile, btf: Btf): void {
  const externs = unresolvedExterns(elf, btf);
  if (externs.length === 0) return;
  const list = externs.map((e) => `${e.name} (${e.kind})`).join(', ');
  throw new EcliError(
    'COMPILE_FAILED',
    `${source}: unresolved extern symbol${externs.length === 1 ? '' : 's'} ${list}: declared extern, but nothing defines ${externs.length === 1 ? 'it' : 'them'}, so the kernel would refuse the object`,
    {
      hint: 'define each in the source (check the spelling of helper names), or mark kernel symbols __ksym and kernel config values __kconfig',
    },
  );
}

function refuseProgramProblems(source: string, elf: ElfFile, vmlinuxHeader: string, disabled: ReadonlySet<ProgramCheck>): void {
  const problems = checkPrograms(elf, kernelTracepoints(vmlinuxHeader), disabled);
  const [first] = problems;
  if (first === undefined) return;
  const more =
    problems.length > 1
      ? `; and ${problems
          .slice(1)
          .map((p) => p.message)
          .join('; ')}`
      : '';
  throw new EcliError('COMPILE_FAILED', `${source}: ${first.message}${more}`, { hint: programProblemHint(first) });
}

/**
 * A private copy of the source with a dummy global per header struct, which keeps those structs
 * in the BTF. `#line` and `-iquote` make it compile, and report errors, as the original would.
 */
function writeSourceCopy(workDir: string, source: string, sourceText: string, structNames: readonly string[], flags: string[]) {
  const input = path.join(workDir, path.basename(source));
  const body = sourceText.endsWith('\n') || sourceText === '' ? sourceText : `${sourceText}\n`;
  writeFileSync(input, `#line 1 ${JSON.stringify(source)}\n${body}${dummyPointerDeclarations(structNames)}`);
  // -x c: with --header-only the copy is still named like a header.
  return { input, inputFlags: [...flags, '-iquote', path.dirname(path.resolve(source)), '-x', 'c'] };
}

/** The file ecc writes its package to, as the reference does; also the name of an npm project's manifest. */
const PACKAGE_FILE = 'package.json';

/**
 * A `package.json` already in the output folder is replaced only when ecc wrote it (it holds a
 * `bpf_object`): a source kept in a Node project's folder must not cost the project its manifest.
 * Checked before compiling, so nothing is written either way.
 */
function refuseForeignPackageJson(file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return; // nothing there; anything else unreadable fails when the package is written, with its own message
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const object = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : undefined;
  if (object !== undefined && 'bpf_object' in object) return;
  const npm = object !== undefined && ('dependencies' in object || 'scripts' in object || 'version' in object);
  throw new EcliError('USAGE', `${file} exists and is not a package ecc wrote${npm ? " (it is an npm project's manifest)" : ''}; ecc does not replace it`, {
    hint: 'write the package into another folder with -o <dir>',
  });
}

function writeArtifacts(out: { outputDir: string; name: string; object: Uint8Array; meta: EccMeta; generatePackage: boolean; logger: EccLogger }): EccResult {
  const objectPath = path.join(out.outputDir, `${out.name}.bpf.o`);
  const skeletonPath = path.join(out.outputDir, `${out.name}.skel.json`);
  writeFileAtomic(objectPath, out.object);
  writeFileAtomic(skeletonPath, stableStringify(out.meta));
  if (!out.generatePackage) return { objectPath, skeletonPath, meta: out.meta };
  out.logger.info('Generating package json...');
  const packagePath = path.join(out.outputDir, PACKAGE_FILE);
  out.logger.info(`Packing ebpf object and config into ${packagePath}...`);
  writeFileAtomic(packagePath, stableStringify({ ...encodeBpfObject(out.object), meta: out.meta }));
  return { objectPath, skeletonPath, packagePath, meta: out.meta };
}
