/** What the logged-in person is and may do: pages read this, never guess. */
export interface User {
  id: string;
  login: string;
  name: string;
  role: 'operator' | 'tenant-admin' | 'tenant-viewer';
  tenantId?: string;
  lang: 'ja' | 'en';
  totp: boolean;
}

export interface Session {
  stage: 'active' | 'pending-totp';
  csrf: string;
  user: User;
  tenant: { id: string; name: string; status: string } | null;
}

export interface LiveUsage {
  activeCalls: number;
  trunkCalls: number;
  extensions: number;
  ports: number;
  registeredExtensions: number;
  status: string;
  restrictionLevel: number;
}

export interface Live {
  connected: boolean;
  registered: Record<string, number>;
  inCall: string[];
  usage: LiveUsage | null;
}

/** Everything a page gets. `readOnly`: hide every write (suspended tenant or read-only user). */
export interface PageProps {
  session: Session;
  tenantId: string;
  readOnly: boolean;
  live: Live;
  /** Operators: open a tenant's pages (null closes it). */
  openTenant: (id: string | null) => void;
}
