/**
 * The stages (runner/stages.ts) that `--filter` and container enrichment give each export: the
 * lookup of an event's container from its cgroup id or pid member (enrich), the rules on its
 * members and its container (keep), and the rules on a sampled map's key (keepEntry). Rules are
 * parsed and checked against every export before anything is opened; an export with neither
 * rules nor a container to look up gets no stage, and its records go straight to the output.
 */
import type { Btf } from '../btf/btf.js';
import type { Columns } from '../btf/columns.js';
import { containerKeyOf, keyReader, noContainerReason, type ContainerKey } from '../containers/event-key.js';
import { ContainerResolver, isPending, type ContainerLookup, type ContainerSource, type ContainerSources } from '../containers/resolver.js';
import { EcliError } from '../errors.js';
import { compileFilter, hasField, type ContainerPredicate, type FilterTarget, type MemberPredicate } from '../filter/compile.js';
import { loadRegexCompiler, type RegexCompiler } from '../filter/regex.js';
import { parseFilterRules, shorthandRule, type FilterRule } from '../filter/rules.js';
import type { ContainerInfo } from '../format/container.js';
import { namedKeyColumns } from '../format/fields.js';
import { currentBootTimeNs } from '../format/hints.js';
import { asBuffer } from '../format/value.js';
import type { ExportSpec } from '../model/exports.js';
import type { PackageSpec } from '../model/spec.js';
import { NO_CONTEXT, type EventStages, type RecordContext, type SampleStages, type StageFactory } from './stages.js';

/** What the CLI's flags and the library's run options say about filters and containers. */
export interface EventStageOptions {
  /** `--filter` text, in ig's syntax. */
  filter?: string | undefined;
  /** `--pid`, `--comm`, `--container`. */
  pid?: string | undefined;
  comm?: string | undefined;
  container?: string | undefined;
  /** False: events carry no container (`--no-containers`). Default: looked up. */
  containers?: boolean | undefined;
  /** Runtime API sockets other than the default ones (`--container-socket podman=/path`). */
  sockets?: ContainerSources['sockets'];
}

/** The options parsed: the rules (with the regular expression engine, loaded only when a rule needs it) and where containers are looked up. */
export interface StageChoices {
  rules: FilterRule[];
  regex: RegexCompiler | undefined;
  containers: ContainerSource | undefined;
}

/** Parses the options; a malformed rule is a usage error before any package is read. */
export async function stageChoices(options: EventStageOptions): Promise<StageChoices> {
  const rules: FilterRule[] = options.filter === undefined ? [] : parseFilterRules(options.filter);
  if (options.pid !== undefined) rules.push(shorthandRule('pid', options.pid));
  if (options.comm !== undefined) rules.push(shorthandRule('comm', options.comm));
  if (options.container !== undefined) rules.push(shorthandRule('container', options.container));
  const regex = rules.some((r) => r.operator === '~' || r.operator === '!~') ? await loadRegexCompiler() : undefined;
  const containers = options.containers === false ? undefined : new ContainerResolver(options.sockets === undefined ? {} : { sockets: options.sockets });
  return { rules, regex, containers };
}

/**
 * The stages of `spec`'s exports, checked now: a rule whose field no export has is a usage
 * error (with the closest name), as is a bad value or pattern. Each rule applies to the exports
 * that have its field. `warn` hears why an export's events carry no container when a rule asks
 * for one. Undefined when no export has any stage.
 */
export function stageFactory(spec: PackageSpec, choices: StageChoices, warn: (message: string) => void): StageFactory | undefined {
  const { btf } = spec;
  const { rules } = choices;
  const targets = spec.exports.map((exported) => {
    // A sampled map's key that is one number is the field `key`, as --fields and --sort name it.
    const columns: Columns = exported.kind === 'events' ? exported.columns : namedKeyColumns(exported.keyColumns);
    let key: ContainerKey | undefined;
    if (exported.kind === 'events' && choices.containers !== undefined) {
      const reason = noContainerReason(btf, columns);
      if (reason === undefined) key = containerKeyOf(btf, columns);
      else if (rules.some((r) => r.field === 'container' || r.field.startsWith('container.')))
        warn(`events of map ${exported.map.name} carry no container: ${reason}`);
    }
    const target: FilterTarget = {
      btf,
      columns,
      containers: key !== undefined,
      pidField: pidFieldOf(btf, columns),
      hints: { bootTimeNs: currentBootTimeNs() },
      regex: choices.regex,
    };
    return { exported, key, target };
  });
  for (const rule of rules) {
    if (targets.some(({ target }) => hasField(rule, target))) continue;
    const first = targets.find(({ exported }) => exported.kind === 'events') ?? targets[0];
    if (first === undefined)
      throw new EcliError('USAGE', `--filter: package ${spec.objectName} exports no map to filter`, { hint: 'leave out --filter for this package' });
    // Compiling it where it does not fit says why, with the closest field name.
    compileFilter([rule], first.target);
  }
  const stages = new Map<ExportSpec, EventStages & SampleStages>();
  for (const { exported, key, target } of targets) {
    const mine = rules.filter((rule) => hasField(rule, target));
    const filter = mine.length > 0 ? compileFilter(mine, target) : undefined;
    if (exported.kind === 'sample') {
      if (filter?.members !== undefined) stages.set(exported, sampleStages(filter.members, target.columns));
    } else if (key !== undefined || filter !== undefined) {
      stages.set(exported, eventStages(target.columns, key, choices.containers, filter?.members, filter?.container));
    }
  }
  return stages.size === 0 ? undefined : (exported) => stages.get(exported);
}

/** The member `--pid` compares: the container key when it is a pid, else pid, else tgid. */
function pidFieldOf(btf: Btf, columns: Columns): string | undefined {
  const key = containerKeyOf(btf, columns);
  if (key?.kind === 'pid') return key.column.name;
  return ['pid', 'tgid'].find((name) => columns.members.some((c) => c.name === name));
}

/** Bytes a record needs for every member: shorter ones pass the stages untouched, for the sink to count as malformed. */
function neededBytes(columns: Columns): number {
  return columns.members.reduce((end, c) => Math.max(end, c.offset + c.size), 0);
}

function eventStages(
  columns: Columns,
  key: ContainerKey | undefined,
  containers: ContainerSource | undefined,
  keepMembers: MemberPredicate | undefined,
  keepContainer: ContainerPredicate | undefined,
): EventStages {
  const needed = neededBytes(columns);
  const stages: EventStages = {};
  if (key !== undefined && containers !== undefined) {
    const lookup = containerLookup(key, containers);
    // One context object per container, not one per record.
    const contexts = new WeakMap<ContainerInfo, RecordContext>();
    const contextOf = (container: ContainerInfo | undefined): RecordContext => {
      if (container === undefined) return NO_CONTEXT;
      let context = contexts.get(container);
      if (context === undefined) contexts.set(container, (context = Object.freeze({ container })));
      return context;
    };
    stages.enrich = (data, offset, length) => {
      // A malformed record is not looked up, nor is one the member rules drop: keep() then
      // drops it by its context, without reading its members a second time.
      if (length < needed) return NO_CONTEXT;
      if (keepMembers !== undefined && !keepMembers(data, offset)) return MEMBERS_REFUSED;
      const found = lookup(data, offset);
      return isPending(found) ? found.settled.then(contextOf) : contextOf(found);
    };
  }
  // With an enrichment, enrich() ran the member rules and its context carries their verdict.
  const membersKept: ((data: Buffer, offset: number, context: RecordContext) => boolean) | undefined =
    keepMembers === undefined ? undefined : stages.enrich === undefined ? keepMembers : (_data, _offset, context) => context !== MEMBERS_REFUSED;
  if (membersKept !== undefined || keepContainer !== undefined) {
    stages.keep = (data, offset, length, context) =>
      length < needed ||
      ((membersKept === undefined || membersKept(data, offset, context)) && (keepContainer === undefined || keepContainer(context.container)));
  }
  return stages;
}

/** The context enrich() gives a record the member rules refused: keep() drops it on seeing it. */
const MEMBERS_REFUSED: RecordContext = Object.freeze({});

function containerLookup(key: ContainerKey, containers: ContainerSource): (data: Buffer, offset: number) => ContainerLookup {
  const read = keyReader(key);
  if (key.kind === 'cgroup_id') return (d, o) => containers.byCgroupId(read(d, o) as bigint);
  return (d, o) => {
    const pid = read(d, o) as number;
    return pid > 0 ? containers.byPid(pid) : undefined;
  };
}

function sampleStages(keepKey: MemberPredicate, keyColumns: Columns): SampleStages {
  const needed = neededBytes(keyColumns);
  // An entry whose key is too short stays, for the sink to count as malformed.
  return { keepEntry: ([key]) => key.length < needed || keepKey(asBuffer(key), 0) };
}
