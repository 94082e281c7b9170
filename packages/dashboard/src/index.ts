import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The dashboard's files: plain HTML, CSS and ES modules, served as they are (no build step). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../public/', import.meta.url));
/** uPlot's ES module and stylesheet as the package ships them, served at /vendor/uplot/. */
export const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'));

// The page holds a token in session storage: no framing, no third-party anything.
const SECURITY_HEADERS: Record<string, string> = {
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

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
    setHeaders: (res) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.header(name, value);
    },
  });
  await app.register(fastifyStatic, {
    root: UPLOT_DIR,
    prefix: '/vendor/uplot/',
    wildcard: false,
    decorateReply: false,
    allowedPath: (path) => path === '/uPlot.esm.js' || path === '/uPlot.min.css',
    setHeaders: (res) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.header(name, value);
    },
  });
}
