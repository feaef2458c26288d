#pragma once
// The claim of an outbox table (notify's email outbox, the webhooks' deliveries): one UPDATE that picks
// due rows and leases them, so two workers (threads or nodes) never hold the same row. A row is due when
// it is 'pending' and its time has come, or 'sending' with a lease that ran out (the worker that claimed
// it died or hung). attempts + 1 both counts the try and fences the claim: the marks that follow only
// apply to the attempts value they were given.
//
// Each kind of due row is read by its own subquery, in the order of the table's (status,
// next_attempt_at, id) index, so a claim reads at most `limit` rows of each however long the queue is.
// A single WHERE with an OR would read and sort every waiting row: after an outage of the receiving
// side, each claim would cost time and memory in proportion to the backlog, and the worker would fall
// further behind the longer the queue grew.
//
// SQLite serialises writers (BEGIN IMMEDIATE), so the subqueries and the update cannot interleave with
// another claim. PostgreSQL needs the rows locked, and skipping rows another node has locked keeps nodes
// from queueing behind each other: the same statement with FOR UPDATE SKIP LOCKED.
//
// Parameters: $1 now, $2 the lease's end, $3 the most rows to claim. The table needs the columns id,
// status, next_attempt_at, locked_until and attempts; `returning` lists what the claim gives back.

#include "db/database.hpp"

namespace db {

template <const auto& Table, const auto& Returning>
struct LeaseClaim {
  static constexpr auto due = concat("SELECT id, next_attempt_at FROM ", Table,
                                     " WHERE status = 'pending' AND next_attempt_at <= $1"
                                     " ORDER BY next_attempt_at, id LIMIT $3");
  static constexpr auto stale = concat("SELECT id, next_attempt_at FROM ", Table,
                                       " WHERE status = 'sending' AND locked_until <= $1"
                                       " ORDER BY next_attempt_at, id LIMIT $3");
  static constexpr auto lease = concat(" UPDATE ", Table,
                                       " SET status = 'sending', locked_until = $2, attempts = attempts + 1"
                                       " WHERE id IN (SELECT id FROM (SELECT id, next_attempt_at FROM due"
                                       "                              UNION ALL SELECT id, next_attempt_at FROM stale) AS either"
                                       "              ORDER BY next_attempt_at, id LIMIT $3)"
                                       " RETURNING ", Returning);
  static constexpr auto sqlite = concat("WITH due AS (", due, "), stale AS (", stale, ")", lease);
  static constexpr auto postgres = concat("WITH due AS (", due, " FOR UPDATE SKIP LOCKED),", " stale AS (", stale,
                                          " FOR UPDATE SKIP LOCKED)", lease);
};

}  // namespace db
