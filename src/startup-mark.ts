/**
 * Start-up milestones of `ecli run` as `ecli:<name>` performance marks, which `make bench` reads
 * (bench/lib/startup-breakdown.ts). Each is marked once per process: the library API's later
 * runs add nothing to the performance timeline.
 */
export function startupMark(name: 'run' | 'decoded' | 'ffi' | 'opened' | 'checked' | 'loaded' | 'attached' | 'header'): void {
  const mark = `ecli:${name}`;
  if (performance.getEntriesByName(mark, 'mark').length === 0) performance.mark(mark);
}
