import type { ApiRoutePlugin } from '../context.js';
import { admissionOperatorRoutes, admissionTenantRoutes } from './admission.js';
import { auditRoutes } from './audit.js';
import { billingOperatorRoutes, billingTenantRoutes } from './billing.js';
import { didRoutes } from './dids.js';
import { extensionRoutes } from './extensions.js';
import { grantRoutes } from './grants.js';
import { groupRoutes } from './groups.js';
import { ledgerRoutes } from './ledgers.js';
import { numberingPlanRoutes } from './numbering-plan.js';
import { platformRoutes } from './platform.js';
import { registrationCountRoutes, registrationRoutes } from './registrations.js';
import { tenantRoutes } from './tenant.js';
import { tenantsRoutes } from './tenants.js';
import { tollFraudRoutes } from './toll-fraud.js';
import { dataQuotaRoutes } from './data-quotas.js';
import { trunkRoutes } from './trunks.js';
import { trafficRoutes } from './traffic.js';
import { incidentOperatorRoutes, incidentTenantRoutes } from './incidents.js';
import { helpdeskOperatorRoutes, helpdeskTenantRoutes } from './helpdesk.js';
import { configHistoryRoutes } from './config-history.js';
import { operationReportRoutes } from './operation-report.js';
import { siteRoutes } from './sites.js';
import { liveRoutes, operatorUserRoutes, searchRoutes, tenantUserRoutes } from '../console/index.js';

/**
 * Every route plugin of the API. To add an area (registrations, billing, admission…):
 * write `packages/api/src/routes/<name>.ts` exporting a `FastifyPluginAsync<RouteContext>`
 * and add one line here with its scope (see `ApiRoutePlugin` in context.ts).
 */
export const routePlugins: readonly ApiRoutePlugin[] = [
  { name: 'tenants', scope: 'operator', plugin: tenantsRoutes },
  { name: 'platform', scope: 'operator', plugin: platformRoutes },
  { name: 'tenant', scope: 'tenant', plugin: tenantRoutes },
  { name: 'extensions', scope: 'tenant', plugin: extensionRoutes },
  { name: 'groups', scope: 'tenant', plugin: groupRoutes },
  { name: 'trunks', scope: 'tenant', plugin: trunkRoutes },
  { name: 'dids', scope: 'tenant', plugin: didRoutes },
  { name: 'numbering-plan', scope: 'tenant', plugin: numberingPlanRoutes },
  { name: 'ledgers', scope: 'tenant', plugin: ledgerRoutes },
  { name: 'audit', scope: 'tenant', plugin: auditRoutes },
  // --- registrar (registrations) ---
  { name: 'registrations', scope: 'tenant', plugin: registrationRoutes },
  { name: 'registration-counts', scope: 'operator', plugin: registrationCountRoutes },
  // --- billing (tariffs, reports) ---
  { name: 'billing-operator', scope: 'operator', plugin: billingOperatorRoutes },
  { name: 'billing', scope: 'tenant', plugin: billingTenantRoutes },
  // --- admission (restriction, events) ---
  { name: 'admission-operator', scope: 'operator', plugin: admissionOperatorRoutes },
  { name: 'admission', scope: 'tenant', plugin: admissionTenantRoutes },
  // --- security (operator grants of numbers and carrier gateways) ---
  { name: 'grants', scope: 'tenant', plugin: grantRoutes },
  { name: 'toll-fraud', scope: 'tenant', plugin: tollFraudRoutes },
  { name: 'data-quotas', scope: 'tenant', plugin: dataQuotaRoutes },
  // --- ops (traffic report, incidents, help desk, works, configuration history, operation report) ---
  { name: 'traffic', scope: 'tenant', plugin: trafficRoutes },
  { name: 'incidents-operator', scope: 'operator', plugin: incidentOperatorRoutes },
  { name: 'incidents', scope: 'tenant', plugin: incidentTenantRoutes },
  { name: 'helpdesk-operator', scope: 'operator', plugin: helpdeskOperatorRoutes },
  { name: 'helpdesk', scope: 'tenant', plugin: helpdeskTenantRoutes },
  { name: 'config-history', scope: 'tenant', plugin: configHistoryRoutes },
  { name: 'operation-report', scope: 'tenant', plugin: operationReportRoutes },
  // --- branch (sites served by survivable branch servers; the branch-facing routes are added in app.ts) ---
  { name: 'sites', scope: 'tenant', plugin: siteRoutes },
  // --- console (people: users, live feed) ---
  { name: 'users', scope: 'tenant', plugin: tenantUserRoutes },
  { name: 'operator-users', scope: 'operator', plugin: operatorUserRoutes },
  { name: 'live', scope: 'tenant', plugin: liveRoutes },
  { name: 'extension-search', scope: 'tenant', plugin: searchRoutes },
];
