DROP TABLE IF EXISTS scheduler.runs;
