import { h, render, type JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { api, setCsrf, setOnUnauthorized, tpath } from './api.ts';
import { lang, setLang, t, type Lang, type MsgKey } from './i18n.ts';
import type { Live, PageProps, Session } from './session.ts';
import { Login } from './pages/login.tsx';
import { Dashboard } from './pages/dashboard.tsx';
import { Extensions } from './pages/extensions.tsx';
import { Groups, Trunks, Dids, Plan } from './pages/config.tsx';
import { Ledgers, Billing } from './pages/billing.tsx';
import { ApiKeys, Users, Account } from './pages/people.tsx';
import { Tenants, Platform } from './pages/operator.tsx';
import { Loading } from './ui.tsx';

/**
 * A page whose code loads on first use (its own chunk): the operations pages are not needed to log in or to
 * manage extensions, so the first load stays small.
 */
function lazyPage(load: () => Promise<(p: PageProps) => JSX.Element>): (p: PageProps) => JSX.Element {
  let loaded: ((p: PageProps) => JSX.Element) | null = null;
  return function LazyPage(p: PageProps): JSX.Element {
    const [page, setPage] = useState(() => loaded);
    useEffect(() => {
      if (page === null) void load().then((x) => ((loaded = x), setPage(() => x)));
    }, []);
    return page === null ? <Loading /> : h(page, p);
  };
}
const ops = (): Promise<typeof import('./pages/ops.tsx')> => import('./pages/ops.tsx');
const Reports = lazyPage(async () => (await ops()).Reports);
const Incidents = lazyPage(async () => (await ops()).Incidents);
const Tickets = lazyPage(async () => (await ops()).Tickets);
const Works = lazyPage(async () => (await ops()).Works);
const History = lazyPage(async () => (await ops()).History);
const OpIncidents = lazyPage(async () => (await ops()).OpIncidents);
const OpTickets = lazyPage(async () => (await ops()).OpTickets);
const OpWorks = lazyPage(async () => (await ops()).OpWorks);

type Route = { path: string; label: MsgKey; page: (p: PageProps) => JSX.Element; who: 'tenant' | 'operator' | 'all'; adminOnly?: boolean };

const ROUTES: Route[] = [
  { path: 'tenants', label: 'tenants', page: Tenants, who: 'operator' },
  { path: 'platform', label: 'platform', page: Platform, who: 'operator' },
  { path: 'op-incidents', label: 'incidentsOp', page: OpIncidents, who: 'operator' },
  { path: 'op-tickets', label: 'ticketsOp', page: OpTickets, who: 'operator' },
  { path: 'op-works', label: 'worksOp', page: OpWorks, who: 'operator' },
  { path: 'dashboard', label: 'dashboard', page: Dashboard, who: 'tenant' },
  { path: 'extensions', label: 'extensions', page: Extensions, who: 'tenant' },
  { path: 'groups', label: 'groups', page: Groups, who: 'tenant' },
  { path: 'trunks', label: 'trunks', page: Trunks, who: 'tenant' },
  { path: 'dids', label: 'dids', page: Dids, who: 'tenant' },
  { path: 'plan', label: 'plan', page: Plan, who: 'tenant' },
  { path: 'ledgers', label: 'ledgers', page: Ledgers, who: 'tenant' },
  { path: 'billing', label: 'billing', page: Billing, who: 'tenant' },
  { path: 'reports', label: 'reports', page: Reports, who: 'tenant' },
  { path: 'incidents', label: 'incidents', page: Incidents, who: 'tenant' },
  { path: 'tickets', label: 'tickets', page: Tickets, who: 'tenant' },
  { path: 'works', label: 'works', page: Works, who: 'tenant' },
  { path: 'history', label: 'history', page: History, who: 'tenant' },
  { path: 'api-keys', label: 'apiKeys', page: ApiKeys, who: 'tenant', adminOnly: true },
  { path: 'users', label: 'users', page: Users, who: 'all', adminOnly: true },
  { path: 'account', label: 'account', page: Account, who: 'all' },
];

/** The menu of a role. An operator who opened a tenant also gets that tenant's pages. */
function routesFor(s: Session, opTenant: string | null): Route[] {
  const op = s.user.role === 'operator';
  return ROUTES.filter(
    (r) =>
      (r.who === 'all' || (r.who === 'operator') === op || (op && opTenant !== null && r.who === 'tenant')) &&
      !(r.adminOnly === true && s.user.role === 'tenant-viewer'),
  );
}

function useHash(): string {
  const [h, setH] = useState(location.hash.replace(/^#\/?/, ''));
  useEffect(() => {
    const on = (): void => setH(location.hash.replace(/^#\/?/, ''));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return h;
}

const EMPTY_LIVE: Live = { connected: false, registered: {}, inCall: [], usage: null };

/** The live feed (server-sent events) of the tenant: registrations, calls, port usage, status. */
function useLive(tenantId: string | null): Live {
  const [live, setLive] = useState<Live>(EMPTY_LIVE);
  useEffect(() => {
    if (tenantId === null) return;
    const es = new EventSource(tpath(tenantId, '/live'));
    es.addEventListener('open', () => setLive((l) => ({ ...l, connected: true })));
    es.addEventListener('error', () => setLive((l) => ({ ...l, connected: false })));
    es.addEventListener('snapshot', (e) => {
      const d = JSON.parse((e as MessageEvent<string>).data) as { registered: Record<string, number>; inCall: string[]; usage: Live['usage'] };
      setLive({ connected: true, registered: d.registered, inCall: d.inCall, usage: d.usage });
    });
    es.addEventListener('reg', (e) => {
      const d = JSON.parse((e as MessageEvent<string>).data) as { up: Record<string, number>; down: string[] };
      setLive((l) => {
        const registered = { ...l.registered, ...d.up };
        for (const x of d.down) delete registered[x];
        return { ...l, registered };
      });
    });
    es.addEventListener('calls', (e) => {
      const d = JSON.parse((e as MessageEvent<string>).data) as { inCall: string[] };
      setLive((l) => ({ ...l, inCall: d.inCall }));
    });
    es.addEventListener('usage', (e) => {
      const usage = JSON.parse((e as MessageEvent<string>).data) as Live['usage'];
      setLive((l) => ({ ...l, usage }));
    });
    return () => es.close();
  }, [tenantId]);
  return live;
}

function App(): JSX.Element {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [, setLangState] = useState<Lang>(lang());
  const hash = useHash();

  const adopt = (s: Session | null): void => {
    if (s !== null) {
      setCsrf(s.csrf);
      if (s.stage === 'active' && s.user.lang !== lang()) {
        setLang(s.user.lang);
        setLangState(s.user.lang);
      }
    }
    setSession(s);
  };
  useEffect(() => {
    setOnUnauthorized(() => setSession(null));
    api<Session>('GET', '/v1/session').then(adopt, () => setSession(null));
  }, []);

  // An operator may open one tenant at a time (kept for the browser tab).
  const [opTenant, setOpTenantState] = useState<string | null>(sessionStorage.getItem('kumo.opTenant'));
  const openTenant = (id: string | null): void => {
    if (id === null) sessionStorage.removeItem('kumo.opTenant');
    else sessionStorage.setItem('kumo.opTenant', id);
    setOpTenantState(id);
    location.hash = id === null ? '#/tenants' : '#/dashboard';
  };
  const isOp = session?.stage === 'active' && session.user.role === 'operator';
  const tenantId = session?.stage === 'active' ? (session.user.tenantId ?? (isOp ? opTenant : null)) : null;
  const live = useLive(tenantId);

  const switchLang = (l: Lang): void => {
    setLang(l);
    setLangState(l);
    if (session?.stage === 'active') void api('PATCH', '/v1/session/user', { lang: l }).catch(() => undefined);
  };
  const langSwitch = (
    <div class="lang" role="group" aria-label={t('language')}>
      {(['ja', 'en'] as const).map((l) => (
        <button key={l} type="button" aria-pressed={lang() === l} onClick={() => switchLang(l)} lang={l}>
          {l === 'ja' ? '日本語' : 'English'}
        </button>
      ))}
    </div>
  );

  if (session === undefined) return <main id="main"><p aria-busy="true">{t('loading')}</p></main>;
  if (session === null || session.stage !== 'active') {
    return (
      <>
        <header class="top">
          <span class="brand">{t('appName')}</span>
          {langSwitch}
        </header>
        <main id="main">
          <Login pending={session?.stage === 'pending-totp'} onSession={adopt} />
        </main>
      </>
    );
  }

  const routes = routesFor(session, isOp ? opTenant : null);
  const current = routes.find((r) => r.path === hash) ?? routes[0]!;
  const status = live.usage?.status ?? session.tenant?.status;
  const suspended = status === 'suspended';
  const readOnly = session.user.role === 'tenant-viewer' || suspended;
  const props: PageProps = { session, tenantId: tenantId ?? '', readOnly, live, openTenant };
  const logout = async (): Promise<void> => {
    await api('DELETE', '/v1/session').catch(() => undefined);
    setSession(null);
  };

  return (
    <>
      <a class="skip" href="#main">
        {t('skip')}
      </a>
      <header class="top">
        <span class="brand">{t('appName')}</span>
        <span class="who">
          {session.user.name}
          {session.tenant !== null ? ` · ${session.tenant.name}` : ''}
        </span>
        {langSwitch}
        <button type="button" onClick={() => void logout()}>
          {t('logout')}
        </button>
      </header>
      <div class="layout">
        <nav aria-label={t('menu')}>
          <ul>
            {routes.map((r) => (
              <li key={r.path}>
                <a href={`#/${r.path}`} aria-current={r === current ? 'page' : undefined}>
                  {t(r.label)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          {isOp && opTenant !== null && (
            <p class="opened" role="status" data-testid="opened-tenant">
              {t('openedTenant', { id: opTenant })}{' '}
              <button type="button" onClick={() => openTenant(null)}>
                {t('closeTenant')}
              </button>
            </p>
          )}
          <h1>{t(current.label)}</h1>
          {suspended && (
            <p class="banner" role="status" data-testid="read-only">
              {t('readOnlySuspended')}
            </p>
          )}
          {!suspended && session.user.role === 'tenant-viewer' && (
            <p class="banner" role="status" data-testid="read-only">
              {t('readOnlyViewer')}
            </p>
          )}
          <current.page {...props} />
        </main>
      </div>
    </>
  );
}

render(<App />, document.getElementById('app')!);
