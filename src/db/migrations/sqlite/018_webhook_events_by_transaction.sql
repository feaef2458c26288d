-- Nothing to change for SQLite: PostgreSQL's migration 018 gives it the cursor over the event log
-- that SQLite has had since migrations 016 and 017 (there over ids, which its one writer gives in
-- commit order). This file keeps the dialects' numbers alike.
SELECT 1;
