/** compile: `ecc` as a function (clang, llvm-strip and bpftool from the system, as the command uses them). */
import { runEccPipeline } from '../compiler/ecc.js';

export interface CompileOptions {
  /** Where `<name>.bpf.o`, `<name>.skel.json` and `package.json` go (default: the source's directory). */
  outDir?: string;
  /** Extra clang flags. */
  cflags?: readonly string[];
  /** The clang and llvm-strip to run (default: found on PATH). */
  clang?: string;
  llvmStrip?: string;
  /** False leaves out package.json (`ecc -n`). */
  generatePackage?: boolean;
  /** ecc's warnings and clang's diagnostics. Default: ignored. */
  onWarning?: (text: string) => void;
}

export interface CompileResult {
  objectPath: string;
  skeletonPath: string;
  /** Absent when `generatePackage` is false. */
  packagePath: string | undefined;
}

/** Compiles `source` (and the structs of `header` as export types) into a package; rejects with an EcliError (COMPILE_FAILED, TOOL_MISSING, ...). */
export async function compile(source: string, header?: string, options: CompileOptions = {}): Promise<CompileResult> {
  const warn = options.onWarning ?? (() => undefined);
  const result = await runEccPipeline({
    source,
    ...(header === undefined ? {} : { header }),
    ...(options.outDir === undefined ? {} : { outputDir: options.outDir }),
    additionalCflags: options.cflags ?? [],
    ...(options.clang === undefined ? {} : { clang: options.clang }),
    ...(options.llvmStrip === undefined ? {} : { llvmStrip: options.llvmStrip }),
    generatePackage: options.generatePackage !== false,
    logger: { info: () => undefined, warn, diagnostics: warn },
  });
  return { objectPath: result.objectPath, skeletonPath: result.skeletonPath, packagePath: result.packagePath };
}
