export interface ProcessCpu {
  readonly cpuSeconds: number;
  readonly cpuSecondsPer1000: number;
  /** Read + write system calls per operation (/proc/<pid>/io): independent of the machine's load. */
  readonly syscallsPerOp?: number;
}
export function processSyscalls(pid: number | string): number;
export function processCpuSeconds(pid: number | string): number;
export function exitedChildrenCpuSeconds(): number;
export function processRssBytes(pid: number | string): number;
export function loadAverage(): number[];
export function startCpuMeter(
  pids: Readonly<Record<string, number>>,
  opts?: { readonly exitedChildrenAs?: string },
): { stop(ops: number): Record<string, ProcessCpu> };
export function formatCpu(cpu: Readonly<Record<string, ProcessCpu>>, opsName?: string): string;
