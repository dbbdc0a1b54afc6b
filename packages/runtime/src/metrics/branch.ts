import { Gauge, type Registry } from 'prom-client';

/** The states the cloud shows for a site's branch: what it reported, or `unreachable` when its reports stopped. */
export const BRANCH_VIEW_STATES = ['in-sync', 'serving-alone', 'handing-back', 'unreachable', 'never-reported'] as const;

export interface BranchSiteView {
  readonly state: (typeof BRANCH_VIEW_STATES)[number];
  readonly cdrBacklog: number;
}

export interface BranchCloudMetrics {
  /** Reads every site's view at scrape time (one Redis read per site; sites are few). */
  setSource(read: () => Promise<readonly BranchSiteView[]>): void;
}

const cloudByRegistry = new WeakMap<Registry, BranchCloudMetrics>();

/** The api process's view of the survivable branch servers (docs/branch.md); one set per registry. */
export function createBranchCloudMetrics(registry: Registry): BranchCloudMetrics {
  const known = cloudByRegistry.get(registry);
  if (known) return known;
  const made = makeBranchCloudMetrics(registry);
  cloudByRegistry.set(registry, made);
  return made;
}

function makeBranchCloudMetrics(registry: Registry): BranchCloudMetrics {
  let source: (() => Promise<readonly BranchSiteView[]>) | undefined;
  let last: readonly BranchSiteView[] = [];
  const refresh = async (): Promise<readonly BranchSiteView[]> => {
    try {
      if (source) last = await source();
    } catch {
      // Redis unavailable: keep the last values (readyz says so).
    }
    return last;
  };
  new Gauge({
    name: 'kumo_branch_sites',
    help: "Sites with a branch server, by the branch's state as the cloud sees it (unreachable: no report for the stale time)",
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const views = await refresh();
      for (const s of BRANCH_VIEW_STATES) this.set({ state: s }, views.filter((v) => v.state === s).length);
    },
  });
  new Gauge({
    name: 'kumo_branch_cdr_backlog',
    help: 'CDRs made by branches while alone that have not reached the cloud yet (as last reported)',
    registers: [registry],
    collect() {
      this.set(last.reduce((a, v) => a + v.cdrBacklog, 0));
    },
  });
  return {
    setSource: (read) => {
      source = read;
    },
  };
}

/** The branch process's own metrics. */
export function createBranchMetrics(registry: Registry, read: () => { state: string; snapshotVersion: number; cdrBacklog: number }) {
  new Gauge({
    name: 'kumo_branch_state',
    help: 'The branch state machine: 1 for the current state (in-sync, serving-alone, handing-back)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const cur = read().state;
      for (const s of ['in-sync', 'serving-alone', 'handing-back']) this.set({ state: s }, s === cur ? 1 : 0);
    },
  });
  new Gauge({
    name: 'kumo_branch_snapshot_version',
    help: 'Version of the configuration snapshot the branch serves',
    registers: [registry],
    collect() {
      this.set(read().snapshotVersion);
    },
  });
  new Gauge({
    name: 'kumo_branch_local_cdr_backlog',
    help: 'CDRs stored on the branch that the cloud has not acknowledged yet',
    registers: [registry],
    collect() {
      this.set(read().cdrBacklog);
    },
  });
}
