import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one process. Gauges that mirror the store are refreshed on scrape (with
 * Redis they count the whole cluster; the counters count this process). With a node name every
 * series carries `node="…"`, so the processes of one deployment can be told apart.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly sockets = new Gauge({
    name: 'duet_sockets',
    help: 'Connected Socket.IO sockets',
    registers: [this.registry],
  });
  readonly rooms = new Gauge({
    name: 'duet_rooms',
    help: 'Rooms with at least one member',
    registers: [this.registry],
  });
  readonly users = new Gauge({
    name: 'duet_users',
    help: 'Users in rooms (incl. those within the reconnect grace)',
    registers: [this.registry],
  });
  readonly knocksWaiting = new Gauge({
    name: 'duet_knocks_waiting',
    help: 'Knocks waiting at the doors of rooms that ask to join',
    registers: [this.registry],
  });
  readonly calls = new Gauge({
    name: 'duet_calls',
    help: 'Calls by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly callsEnded = new Counter({
    name: 'duet_calls_ended_total',
    help: 'Calls ended, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly relayed = new Counter({
    name: 'duet_relayed_messages_total',
    help: 'Signaling messages relayed between call parties, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  /** Outcomes only: no room, name or secret is ever a label. */
  readonly knocks = new Counter({
    name: 'duet_knocks_total',
    help: 'Knocks on rooms that ask to join, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly refused = new Counter({
    name: 'duet_refused_messages_total',
    help: 'Events and connections refused, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  constructor(nodeName?: string) {
    if (nodeName !== undefined) {
      this.registry.setDefaultLabels({ node: nodeName });
    }
    collectDefaultMetrics({ register: this.registry, prefix: 'duet_' });
  }
}
