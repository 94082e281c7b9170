import { createAlerterService } from '@keytrail/alerter';
import { registerApiRoutes } from '@keytrail/api';
import { type ClickHouseDriver, migrationStatus } from '@keytrail/clickhouse';
import { generateAdminToken, type KeytrailConfig, KeytrailError, type Logger } from '@keytrail/core';
import { registerDashboard } from '@keytrail/dashboard';
import { adminAuthenticator, createHttpApp, onceTrue, type ReadinessCheck } from '@keytrail/http';
import { createIngestService } from '@keytrail/ingest';
import { createSchemaRegistry, type SchemaRegistry, type Topics } from '@keytrail/kafka';
import { createProjector, projectorGroupId } from '@keytrail/projector';
import { createTokenService, type TokenService } from '@keytrail/tokens';
import type { Kafka } from 'kafkajs';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Lifecycle } from '../lifecycle.ts';
import { connectClickHouse, connectKafka, createCodec, kafkaReachable, loadSealingKey } from '../runtime.ts';

export type ServiceName = 'ingest' | 'projector' | 'alerter' | 'api';

export interface ServeOptions {
  config: KeytrailConfig;
  logger: Logger;
  lifecycle: Lifecycle;
  /** Which services this process runs; all four = all-in-one. */
  services: readonly ServiceName[];
  /** All-in-one may start a managed broker and embedded ClickHouse. */
  allInOne: boolean;
  /** Host to listen on (default 0.0.0.0 for services, 127.0.0.1 for all-in-one). */
  host?: string;
  /** This process holds KEYTRAIL_DATA_DIR's lock (`keytrail up` on a managed broker or embedded ClickHouse). */
  ownsDataDir?: boolean;
}

export interface Served {
  url: string;
  adminToken: string;
  /** True when the token was generated for this run (print it). */
  generatedToken: boolean;
  brokers: string[];
  ch: ClickHouseDriver | undefined;
  kafka: Kafka | undefined;
}

/** Starts the chosen services in this process, and the HTTP server every process has (/healthz, /readyz, /metrics). */
export async function serve(options: ServeOptions): Promise<Served> {
  const { config, logger, lifecycle, services } = options;
  const wants = (s: ServiceName) => services.includes(s);
  const adminToken = config.adminToken ?? (options.allInOne ? generateAdminToken() : undefined);
  // Every process serves /healthz, /readyz and /metrics; ingest and the API also need a token.
  const servesRequests = wants('ingest') || wants('api');
  if (servesRequests && !adminToken)
    throw new KeytrailError('UNAVAILABLE', 'Set KEYTRAIL_ADMIN_TOKEN: every request needs a bearer token.');

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'keytrail_' });
  const readiness: Record<string, ReadinessCheck> = {};
  const codec = createCodec();

  let kafka: Kafka | undefined;
  let topics: Topics | undefined;
  let brokers: string[] = [];
  let schemaRegistry: SchemaRegistry | undefined;
  if (wants('ingest') || wants('projector') || wants('alerter')) {
    ({ kafka, brokers, topics } = await connectKafka(config, lifecycle, logger, {
      allowManaged: options.allInOne,
      ownsDataDir: options.ownsDataDir ?? false,
    }));
    readiness.kafka = kafkaReachable(kafka, lifecycle);
    const schemas = createSchemaRegistry({ kafka, topic: topics.schemas, logger });
    lifecycle.add({ name: 'schema registry', stop: () => schemas.close() });
    schemaRegistry = schemas;
  }
  let ch: ClickHouseDriver | undefined;
  // Ingest needs ClickHouse only for API tokens: without a URL, a lone ingest accepts the admin token.
  if (
    wants('projector') ||
    wants('alerter') ||
    wants('api') ||
    (wants('ingest') && (options.allInOne || config.clickhouseUrl))
  ) {
    ch = await connectClickHouse(config, lifecycle, logger, { allowEmbedded: options.allInOne });
    const driver = ch;
    readiness.clickhouse = () => driver.ping();
    readiness.migrations = onceTrue(async () => (await migrationStatus(driver)).pending.length === 0);
  }

  // Consumers join their groups only once the server listens (below): a join after a crash
  // waits out the dead member's session (KEYTRAIL_PROJECTOR_SESSION_TIMEOUT_MS, 30 s by
  // default) unless `ownsDataDir` let it remove the members it left (@keytrail/kafka's
  // groupMembers.ts), and ingest, the API, /healthz and /metrics need not wait with it; /readyz says
  // "not ready" until each has joined. The alerter starts before the projector: its start-up
  // (reading the alert and lifecycle topics) then never leaves the projector running alone.
  const consumerStarts: (() => Promise<void>)[] = [];
  // The API seals endpoint secrets and the alerter opens them. The alerter cannot work without
  // the key; an API without it serves everything but the routes that make or rotate a secret.
  const sealing =
    wants('alerter') || options.allInOne || (wants('api') && config.secretKey)
      ? loadSealingKey(config, { allInOne: options.allInOne })
      : undefined;
  if (wants('api') && !sealing)
    logger.warn('no KEYTRAIL_SECRET_KEY: the API cannot create webhook endpoints or rotate their secrets');
  if (wants('alerter') && kafka && topics && ch && sealing) {
    const alerter = createAlerterService({
      kafka,
      ch,
      codec,
      topics,
      topicPrefix: config.topicPrefix,
      logger,
      metrics: registry,
      sealingKey: sealing,
      allowPrivate: config.webhooks.allowPrivate,
      retryScale: config.webhooks.retryScale,
      latenessMs: config.alerter.latenessMs,
      lookbackMs: config.alerter.lookbackMinutes * 60_000,
      // One knob for how long a dead member keeps its partitions, projector and alerter alike.
      sessionTimeoutMs: config.projector.sessionTimeoutMs,
      ...(schemaRegistry ? { registry: schemaRegistry } : {}),
    });
    lifecycle.add({ name: 'alerter', stop: () => alerter.stop() });
    consumerStarts.push(() => alerter.start());
    // A lone alerter is ready once it judges (or stands by); in `up` its rebalance after a
    // restart does not hold back ingest and the API, which is what /readyz gates.
    if (!options.allInOne) readiness.alerter = async () => alerter.isReady();
  }

  if (wants('projector') && kafka && topics && ch) {
    const projector = createProjector({
      kafka,
      ch,
      codec,
      topics,
      logger,
      metrics: registry,
      groupId: projectorGroupId(config.topicPrefix),
      maxBatchEvents: config.projector.maxBatchEvents,
      sessionTimeoutMs: config.projector.sessionTimeoutMs,
      dedupWindowHours: config.dedupWindowHours,
      ...(schemaRegistry ? { registry: schemaRegistry } : {}),
    });
    lifecycle.add({ name: 'projector', stop: () => projector.stop() });
    consumerStarts.push(() => projector.start());
    readiness.projector = async () => projector.isReady();
  }

  let tokens: TokenService | undefined;
  if (ch && servesRequests) {
    tokens = createTokenService({
      ch,
      adminToken,
      logger,
      mode: ch.kind === 'embedded' ? 'single-process' : 'shared',
    });
    await tokens.start();
    const started = tokens;
    lifecycle.add({ name: 'tokens', stop: () => started.stop() });
  } else if (wants('ingest')) {
    logger.warn('no KEYTRAIL_CLICKHOUSE_URL: ingest accepts only the admin token, not API tokens');
  }
  const authenticate =
    tokens?.authenticate ?? (adminToken ? adminAuthenticator(adminToken) : async () => null);
  const app = createHttpApp({ logger, authenticate, readiness, metrics: registry });
  if (wants('ingest') && kafka && topics) {
    const ingest = createIngestService({
      kafka,
      codec,
      topics,
      maxEvents: config.ingest.maxEvents,
      maxBytes: config.ingest.maxBytes,
      requestsPerSecond: config.ingest.requestsPerSecond,
      ...(schemaRegistry ? { registry: schemaRegistry } : {}),
    });
    await ingest.start();
    lifecycle.add({ name: 'ingest producer', stop: () => ingest.stop() });
    await ingest.register(app);
  }
  if (wants('api') && ch && tokens)
    await registerApiRoutes(app, {
      ch,
      tokens,
      cursorSecret: adminToken ?? '',
      maxInFlight: config.api.maxInFlight,
      webhooks: { sealingKey: sealing, allowPrivate: config.webhooks.allowPrivate },
    });
  // The dashboard is a static page over the public API: wherever the API is served.
  if (wants('api')) await registerDashboard(app);
  const host = options.host ?? (options.allInOne ? '127.0.0.1' : '0.0.0.0');
  const url = await app.listen({ port: config.port, host });
  lifecycle.add({ name: 'http server', stop: () => app.close() });
  logger.info(`listening at ${url}`);
  for (const start of consumerStarts) await start();
  return { url, adminToken: adminToken ?? '', generatedToken: !config.adminToken, brokers, ch, kafka };
}
