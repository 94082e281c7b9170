import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The dashboard's files: plain HTML, CSS and ES modules, served as they are (no build step). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/**
 * Serves the dashboard at `/` (DESIGN.md "Dashboard"). It is a static page that signs in with a
 * Keytrail token and reads only the public API, so it needs nothing of the server but its files.
 * Each file gets its own route (`wildcard: false`): the API's routes and 404s stay as they are.
 */
export async function registerDashboard(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: DASHBOARD_DIR,
    prefix: '/',
    wildcard: false,
    index: 'index.html',
    // /docs (swagger-ui) brings its own copy of the plugin: leave reply.sendFile to it.
    decorateReply: false,
    // The page holds a token in session storage: no framing, no third-party anything.
    setHeaders: (res) => {
      res.header('x-frame-options', 'DENY');
      res.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
      );
      res.header('referrer-policy', 'no-referrer');
    },
  });
}
