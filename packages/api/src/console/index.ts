import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { consoleAssetsDir, consoleBuilt } from '@kumo/console';
import type { KeySchema, ProvisioningRepo, RedisClient } from '@kumo/store';
import type { ConsoleAuth } from './auth.js';
import { sessionRoutes } from './session-routes.js';

export { ConsoleAuth, SESSION_COOKIE, type ConsoleAuthOptions } from './auth.js';
export { liveRoutes, LiveHub } from './live.js';
export { searchRoutes } from './search.js';
export { operatorUserRoutes, tenantUserRoutes } from './user-routes.js';

/** The console page's Content-Security-Policy: own scripts, styles and connections only. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The console's server side: people's session routes under `/v1/session…` and the built web
 * app under `/console/` (public files; the app logs in through the session routes).
 */
export async function registerConsole(app: FastifyInstance, ctx: { redis: RedisClient; keys: KeySchema; repo: ProvisioningRepo; auth: ConsoleAuth }): Promise<void> {
  await app.register(
    (v1, _o, done) => {
      sessionRoutes(v1, ctx);
      done();
    },
    { prefix: '/v1' },
  );
  await app.register(async (scope) => {
    scope.addHook('onRoute', (r) => {
      r.config = { ...(r.config ?? {}), public: true };
    });
    scope.addHook('onSend', async (_req, reply) => {
      void reply.header('content-security-policy', CONSOLE_CSP);
      void reply.header('x-content-type-options', 'nosniff');
      void reply.header('referrer-policy', 'no-referrer');
    });
    if (consoleBuilt()) {
      await scope.register(fastifyStatic, {
        root: consoleAssetsDir(),
        prefix: '/console/',
        index: ['index.html'],
        wildcard: true,
        // Hashed asset names may be cached for long; index.html must be revalidated.
        setHeaders: (reply, path) => void reply.header('cache-control', /\/assets\//.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache'),
      });
      // The app itself at /console/ (and /console): index.html, always revalidated.
      scope.get('/console/', (_req, reply) => reply.header('cache-control', 'no-cache').sendFile('index.html'));
    } else {
      scope.get('/console/*', (_req, reply) =>
        reply.code(503).type('text/plain; charset=utf-8').send('The console is not built: run `npm run build` (vite build of packages/console).'),
      );
    }
  });
}
