/**
 * The relay's own tests again, with the relay on PostgreSQL (`--db`) instead of SQLite: the
 * same test files, loaded a second time (a module URL of their own) inside this suite, while a
 * throwaway PostgreSQL server (test/pg-cluster.ts) gives each of their relays a database of
 * its own. Not among them: files that look into the SQLite file or the segment log directly
 * (relay.test, uplink-relay.test: they test that store itself).
 * relay-retention, settings-relay, doorbell-push and update-relay run with the doorbell on one
 * relay process and (some of) its phones on a second one on the same database: deletion,
 * retention and the quota, settings, pushes and firmware updates cross between processes there.
 */
import { startPgCluster, type PgCluster } from './pg-cluster.js';
import { testRelayDb } from './relay-helpers.js';

const FILES = [
  './relay-roster.test.js',
  './live-relay.test.js',
  './doorbell-live.test.js',
  './relay-ops.test.js',
  // these start a second relay process on the same database for the phone (relay-helpers.ts, startSecondRelay)
  './relay-retention.test.js',
  './settings-relay.test.js',
  './doorbell-push.test.js',
  './update-relay.test.js',
];

let cluster: PgCluster | undefined;
const outer = describe('relay tests again, on PostgreSQL', function () {
  this.timeout(300_000);
  before(async () => {
    cluster = await startPgCluster();
    testRelayDb.create = cluster.createDatabase;
  });
  after(async () => {
    testRelayDb.create = undefined;
    await cluster?.stop();
  });
});

// Each file's suites register at the root as it loads: they are moved into the suite above.
const root = outer.parent!;
for (const file of FILES) {
  const before = root.suites.length;
  await import(`${file}?postgres`);
  for (const s of root.suites.splice(before)) {
    const timeout = s.timeout(); // addSuite gives the suite this one's: it keeps its own
    outer.addSuite(s);
    s.timeout(timeout);
  }
}
