import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type AlerterMetrics = ReturnType<typeof createAlerterMetrics>;

export function createAlerterMetrics(registry: Registry) {
  const registers = [registry];
  return {
    alerts: new Counter({
      name: 'keytrail_alerts_total',
      help: 'Alert changes published on keytrail.alerts',
      labelNames: ['kind', 'change'],
      registers,
    }),
    events: new Counter({
      name: 'keytrail_alerter_events_total',
      help: 'Decisions and lifecycle events read by the alerter',
      labelNames: ['topic'],
      registers,
    }),
    undecodable: new Counter({
      name: 'keytrail_alerter_undecodable_total',
      help: 'Messages the alerter could not decode and skipped (the projector dead-letters them)',
      registers,
    }),
    late: new Gauge({
      name: 'keytrail_alerter_late_events',
      help: 'Events that arrived behind the watermark and were not judged, since start',
      registers,
    }),
    watermarkLag: new Gauge({
      name: 'keytrail_alerter_watermark_lag_seconds',
      help: 'Wall clock minus the event-time watermark',
      registers,
    }),
    firing: new Gauge({ name: 'keytrail_alerts_firing', help: 'Alerts firing now', registers }),
    active: new Gauge({
      name: 'keytrail_alerter_active',
      help: '1 when this alerter holds the partitions (judges and delivers), 0 when it stands by',
      registers,
    }),
    deliveries: new Counter({
      name: 'keytrail_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    deliverySeconds: new Histogram({
      name: 'keytrail_webhook_delivery_seconds',
      help: 'Time from a message being made to its successful delivery',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
      registers,
    }),
    pending: new Gauge({
      name: 'keytrail_webhook_pending_deliveries',
      help: 'Webhook messages waiting for a (re)try',
      registers,
    }),
  };
}
