DROP TABLE ledger.applied_b;
DROP TABLE ledger.applied_a;
