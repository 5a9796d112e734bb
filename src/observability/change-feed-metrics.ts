/**
 * The change log, the change feed and the notification channel pool on /metrics (prom-client,
 * the gateway's registry). Names follow the Prometheus conventions: `_total` for counters, base
 * units (`_seconds`, `_bytes`), labels of bounded cardinality.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `change_log_entries_appended_total` | counter | `source` (`notification`, `read`) |
 * | `change_log_entries` | gauge (entries retained) | |
 * | `change_log_size_bytes` | gauge (estimated heap size of the retained entries) | |
 * | `change_log_oldest_entry_age_seconds` | gauge (0 while empty) | |
 * | `change_log_cursors_refused_total` | counter (`after` refused with CURSOR_EXPIRED) | |
 * | `change_feed_subscribers` | gauge | |
 * | `change_feed_watches` | gauge (conversations and queues watched, lingering ones included) | |
 * | `change_feed_slow_consumer_ends_total` | counter | |
 * | `change_feed_reconciliation_reads_total` | counter | `reason` (`confirm`, `sweep`, `queue`) |
 * | `change_feed_regressions_confirmed_total` | counter | |
 * | `genesys_notification_channels` | gauge (channels of the pool) | |
 * | `genesys_notification_topics` | gauge (distinct topics held over every channel) | |
 * | `genesys_notification_duplicates_total` | counter (frames dropped as repeats) | |
 *
 * Counters kept by the feed itself (plain numbers in the pure modules) are read at scrape time.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { ChangeFeedStats } from "../attributes/change-feed.js";
import { hasChangeLogAge, type ChangeLog, type ChangeSource } from "../attributes/change-log.js";

/** What the metrics read: the feed's stats, its log and its channel pool. */
export interface ChangeFeedMetricsSources {
  feed: { stats(): ChangeFeedStats };
  log: ChangeLog;
  channels: {
    readonly channelCount: number;
    readonly heldTopicCount: number;
    on(event: "duplicate", listener: () => void): unknown;
  };
  /** Clock, epoch ms (the oldest entry's age). Default `Date.now`. */
  now?: () => number;
}

const SOURCES: readonly ChangeSource[] = ["notification", "read"];

/**
 * Registers the change feed metrics (see the file comment) on `registry`.
 * @returns a function that stops listening to the log.
 */
export function trackChangeFeed(registry: Registry, sources: ChangeFeedMetricsSources): () => void {
  const registers = [registry];
  const { feed, log, channels } = sources;
  const now = sources.now ?? Date.now;

  const appended = new Counter({
    name: "change_log_entries_appended_total",
    help: "Entries appended to the change log, by where the state was learned (notification, read: a REST read after a gap, a reconciliation or confirming read, the verify loop's reads)",
    labelNames: ["source"],
    registers,
  });
  for (const source of SOURCES) appended.inc({ source }, 0);
  const stopListening = log.listen((entry) => appended.inc({ source: entry.source }));

  new Gauge({
    name: "change_log_entries",
    help: "Entries the change log retains now (CHANGE_LOG_RETENTION)",
    registers,
    collect() {
      this.set(log.stats().entries);
    },
  });
  new Gauge({
    name: "change_log_size_bytes",
    help: "Estimated heap size of the entries the change log retains, in bytes",
    registers,
    collect() {
      this.set(log.stats().approximateBytes);
    },
  });
  if (hasChangeLogAge(log)) {
    new Gauge({
      name: "change_log_oldest_entry_age_seconds",
      help: "Age of the oldest entry the change log retains, in seconds (0 while it holds none): how far back `after` can resume",
      registers,
      collect() {
        const at = log.oldestAppendedAt();
        this.set(at === undefined ? 0 : Math.max(0, (now() - at) / 1000));
      },
    });
  }

  const fromStats = (name: string, help: string, read: (stats: ChangeFeedStats) => number) => {
    let reported = 0;
    new Counter({
      name,
      help,
      registers,
      collect() {
        const value = read(feed.stats());
        if (value > reported) this.inc(value - reported);
        reported = value;
      },
    });
  };
  fromStats("change_log_cursors_refused_total", "attributesChanged(after:) refused with CURSOR_EXPIRED (unknown, foreign or expired cursor, or one from before the gateway watched)", (s) => s.cursorsRefused);
  fromStats("change_feed_slow_consumer_ends_total", "Subscribers ended with SLOW_CONSUMER (too far behind)", (s) => s.slowConsumerEnds);
  fromStats(
    "change_feed_regressions_confirmed_total",
    "Suspect notifications (a key going back, an equal eventTime, a change within CHANGE_SETTLE_MS) whose confirming REST read showed they were not Genesys's newest state, so they were withheld",
    (s) => s.regressionsConfirmed,
  );

  const reconciliationReported = { confirm: 0, sweep: 0, queue: 0 };
  const reconciliation = new Counter({
    name: "change_feed_reconciliation_reads_total",
    help: "Background reconciliation requests started, by reason: confirm (a suspect notification's conversation read), sweep (a watched conversation re-read to heal dropped notifications), queue (a watched queue re-listed with queue observations to find conversations whose queue notification was dropped)",
    labelNames: ["reason"],
    registers,
    collect() {
      const reads = feed.stats().reconciliationReads;
      for (const reason of ["confirm", "sweep", "queue"] as const) {
        const delta = reads[reason] - reconciliationReported[reason];
        if (delta > 0) this.inc({ reason }, delta);
        reconciliationReported[reason] = reads[reason];
      }
    },
  });
  for (const reason of ["confirm", "sweep", "queue"]) reconciliation.inc({ reason }, 0);

  new Gauge({
    name: "change_feed_subscribers",
    help: "attributesChanged subscribers registered in the change feed now",
    registers,
    collect() {
      this.set(feed.stats().subscribers);
    },
  });
  new Gauge({
    name: "change_feed_watches",
    help: "Conversations and queues the change feed watches now (lingering watches included)",
    registers,
    collect() {
      this.set(feed.stats().watches);
    },
  });
  new Gauge({
    name: "genesys_notification_channels",
    help: "Genesys notification channels the pool has created (at most 20)",
    registers,
    collect() {
      this.set(channels.channelCount);
    },
  });
  new Gauge({
    name: "genesys_notification_topics",
    help: "Distinct Genesys notification topics held, over every channel of the pool (at most 1,000 per channel)",
    registers,
    collect() {
      this.set(channels.heldTopicCount);
    },
  });
  const duplicates = new Counter({
    name: "genesys_notification_duplicates_total",
    help: "Notification frames dropped because the same frame (topic and CorrelationId) already arrived, on any channel",
    registers,
  });
  channels.on("duplicate", () => duplicates.inc());
  return stopListening;
}
