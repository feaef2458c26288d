#pragma once
// Idempotency-Key for POST routes: the same key from the same user with the same request returns
// the first response again without doing the work twice; with another request it is 409
// idempotency_conflict. The first request claims the key (a committed row) before it works, so a
// concurrent duplicate finds the claim and waits for the stored response instead of repeating it.
// The response is written in the same transaction as the work whenever the work commits one, so an
// order cannot exist without the answer its key replays.
//
// What makes two requests "the same" is the route's to say (their identity): by default the parsed
// body. A SHA-256 of it is kept with the key (24 hours by default), so a route whose body carries
// secrets (make_payment's card) names only what may be stored of the request instead.

#include "db/database.hpp"
#include "http/message.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace idempotency {

class Store {
 public:
  struct Settings {
    std::chrono::milliseconds wait{10'000};  // how long a duplicate waits for the first request
    std::chrono::hours keep{24};             // keys are remembered at least this long
    // A claim still without an answer after this was left by a request that died with its process
    // (kill -9, a crash): a request with the same key and body takes it over and does the work. It
    // must outlast any keyed request (config: at least twice gateway_timeout).
    std::chrono::milliseconds lease{120'000};
  };

  // Stores `response` as the claimed key's answer, inside the caller's transaction.
  using Finish = std::function<void(db::Connection&, const http::Response&)>;
  // The work: returns the response; calls `finish` inside its own committing transaction when it has
  // one (otherwise the store saves the response after the work returns). Without an Idempotency-Key
  // `finish` is empty: the work then need not render its response inside the transaction.
  using Work = std::function<http::Response(const Finish& finish)>;

  Store(db::Database& database, Settings settings) : database_(database), settings_(settings) {}
  explicit Store(db::Database& database) : Store(database, Settings{}) {}

  // Runs `work` for a request, or replays; without an Idempotency-Key header, simply runs it. Two
  // requests with one key are the same when their method, path and `identity` are: the text of
  // whatever makes them the same, and nothing that may not be stored (a SHA-256 of it is kept).
  http::Response run(const http::Request& request, std::string_view identity, const Work& work);
  // The same, with the parsed JSON body as the identity.
  http::Response run(const http::Request& request, const Work& work);

  // Forgets keys older than `keep`; returns how many.
  std::int64_t purge(std::int64_t now_micros);

 private:
  // The steps of run(): claim the key (or wait for the first request's answer), do the work once,
  // record its answer (or release the key so that a retry may try again).
  struct Held {
    std::int64_t user = 0;
    const std::string& key;
  };
  struct Seen;
  struct Waiting {
    std::chrono::steady_clock::time_point deadline;
    std::chrono::milliseconds pause{5};  // doubles up to 100 ms
  };
  struct Done {
    http::Response response;
    bool recorded = false;  // stored by the work's own transaction
  };

  // Claims the key for a request whose hash is `hash` (nullopt), or returns the first request's
  // response to replay; throws idempotency_conflict for another request under the key, or when the
  // first one is still working after `wait`.
  std::optional<http::Response> claim(const Held& held, const std::string& route, const std::string& hash);
  // One short transaction: insert the key's row, take over a claim older than the lease, or read the
  // row that is there.
  Seen look(const Held& held, const std::string& route, const std::string& hash);
  // Sleeps before the next look; idempotency_conflict once the first request has had `wait`.
  void wait(Waiting& waiting);
  // Runs the work holding the claim; a common::Error becomes its error response.
  Done work_once(const Held& held, const Work& work);
  // Sent with the transaction's next statement or its COMMIT (db::Connection::defer): no round trip of its own.
  void record(db::Connection& c, const Held& held, const http::Response& response);
  // The answer of work that did not record it itself: kept, or for a 5xx the key is released.
  void record_after(const Held& held, const http::Response& response);
  void release(const Held& held);

  db::Database& database_;
  Settings settings_;
};

}  // namespace idempotency
