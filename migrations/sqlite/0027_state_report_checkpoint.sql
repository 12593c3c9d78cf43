-- Each statewide report keeps the signed checkpoint of the state's audit
-- chain its cover prints (docs/audit.md; empty for statewide reports issued
-- before), so `report verify` can prove that the state's log today extends
-- it, as it does for an agency's report (0024).
ALTER TABLE state_reports ADD COLUMN checkpoint TEXT NOT NULL DEFAULT '';
