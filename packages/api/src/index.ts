export { buildApp, DEFAULT_BODY_LIMIT } from './app.js';
export { runApi } from './run.js';
export { seedDemo, createOperatorKey, DEMO, type DemoCredentials } from './seed.js';
export { actorOf, tenantOf, type ApiDeps, type ApiRoutePlugin, type RouteContext } from './context.js';
export { ERROR_STATUS, valid, type ErrorBody } from './errors.js';
export { ERROR_CATALOGUE, catalogueMarkdown, languageOf, messageOf, type CatalogueEntry, type ErrorCode, type Lang } from './catalogue.js';
