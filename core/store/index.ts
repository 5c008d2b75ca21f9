export type { AppendResult, CheckpointStore, EventHandler, EventStore, ExpectedRevision, ReadAllOptions, StoreSubscription, SubscribeAllOptions } from './event-store.ts';
export { SqliteEventStore, type SqliteStoreOptions } from './sqlite-store.ts';
export { LiveSignal, runCatchUpSubscription } from './catch-up.ts';
export { validateAppend, expectationHolds, describeExpected } from './validate.ts';
export { JetStreamEventStore, LedgerNotFoundError, type JetStreamStoreOptions } from './jetstream-store.ts';
export { NatsCheckpointStore } from './nats-checkpoints.ts';
export { CorruptCommitError, POSITIONS_PER_COMMIT, ledgerStreamName, ledgerSubjectPrefix, checkpointBucketName } from './jetstream-commit.ts';
