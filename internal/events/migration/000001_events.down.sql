DROP TABLE events.processed;
DROP TABLE events.deliveries;
DROP TABLE events.outbox;
DROP TABLE events.subscriptions;
