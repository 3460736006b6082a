/**
 * The library API of ecli-ts (`import { openPackage, compile } from 'ecli-ts'`). Its names are
 * part of the contract; everything else under dist/ is internal.
 */
export { openPackage, type OpenOptions, type Package, type RunOptions } from './package.js';
export type { Sample, Session, SessionStats } from './session.js';
export { compile, type CompileOptions, type CompileResult } from './compile.js';
export type { EventRecord, FieldValue } from './decode.js';
export type { ContainerInfo } from '../format/container.js';
export type { ProgramOptionValue } from './options.js';
export { EcliError, exitCodeFor, type ErrorCode } from '../errors.js';
export type { PackageSpec } from '../model/spec.js';
export type { ProgramSpec } from '../model/programs.js';
export type { MapSpec } from '../model/maps.js';
export type { ExportSpec, EventExportSpec, SampleExportSpec } from '../model/exports.js';
export type { OptionSpec } from '../options/spec.js';
export { TOOL_VERSION as version } from '../version.js';
