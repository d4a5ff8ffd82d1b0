DROP TABLE IF EXISTS events.cluster;
