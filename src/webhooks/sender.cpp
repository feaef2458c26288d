#include "webhooks/sender.hpp"

#include "common/text.hpp"
#include "webhooks/address.hpp"

#include <curl/curl.h>

#include <cctype>
#include <charconv>
#include <ctime>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <unordered_map>

namespace webhooks {
namespace {

constexpr std::string_view kUserAgent = "orderd-webhooks/" ORDERD_VERSION;

struct Exchange {
  PostResult result;
  bool allow_private = false;
  std::size_t read = 0;  // bytes of the answer's body so far
};

}  // namespace

// An easy handle and the post it carries. clear() resets the handle once the post is over, so that none
// of its options point into the finished post (the connection it used stays in the multi handle's cache).
struct SenderSlot {
  CURL* easy;
  Exchange exchange;
  Post post;
  curl_slist* headers = nullptr;
  std::size_t index = 0;  // the post's, in post_all
  std::chrono::steady_clock::time_point started;
  char error[CURL_ERROR_SIZE] = {};
  bool busy = false;

  SenderSlot() : easy(curl_easy_init()) {
    if (easy == nullptr) throw std::runtime_error("cannot create a libcurl handle");
  }
  ~SenderSlot() {
    clear();
    curl_easy_cleanup(easy);
  }
  SenderSlot(const SenderSlot&) = delete;
  SenderSlot& operator=(const SenderSlot&) = delete;

  void clear() {
    curl_easy_reset(easy);
    curl_slist_free_all(headers);
    headers = nullptr;
    exchange = {};
    post = {};
    error[0] = '\0';
    busy = false;
  }
};

namespace {

using Slot = SenderSlot;

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Called by libcurl for each address it is about to connect to (after its DNS lookup): the SSRF check
// sits here, on the very address used.
curl_socket_t open_checked_socket(void* data, curlsocktype, curl_sockaddr* address) {
  auto& exchange = *static_cast<Exchange*>(data);
  if (!exchange.allow_private && !is_public_address(&address->addr)) {
    exchange.result.refused = true;
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

std::size_t keep_answer(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  auto bytes = size * count;
  exchange.read += bytes;
  if (exchange.read > kAnswerRead) return 0;  // enough: libcurl stops reading (the status is known)
  // The character that the kept bytes' limit cuts is read whole, for result_of to leave out.
  constexpr std::size_t kRaw = kAnswerKept + 3;
  auto& answer = exchange.result.answer;
  if (answer.size() < kRaw) answer.append(data, std::min(bytes, kRaw - answer.size()));
  return bytes;
}

// Retry-After: seconds, or an HTTP date (RFC 9110, 10.2.3; libcurl reads its three forms), as the
// wait from now. Anything else is ignored.
std::optional<std::chrono::seconds> retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc{} && end == value.data() + value.size()) {
    return seconds >= 0 ? std::optional(std::chrono::seconds(seconds)) : std::nullopt;
  }
  if (ec == std::errc::result_out_of_range && end == value.data() + value.size() && value.front() != '-') {
    return std::chrono::seconds::max();  // more seconds than 64 bits hold: the longest wait, as the caller caps it
  }
  if (std::isdigit(static_cast<unsigned char>(value.front()))) return std::nullopt;  // a date starts with its day
  auto at = curl_getdate(std::string(value).c_str(), nullptr);
  if (at < 0) return std::nullopt;
  return std::chrono::seconds(std::max<long long>(0, at - std::time(nullptr)));
}

std::size_t read_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && std::equal(kName.begin(), kName.end(), line.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    if (auto wait = retry_after(line.substr(kName.size()))) exchange.result.retry_after = wait;
  }
  return size * count;
}

void set_options(Slot& slot, const SendLimits& limits) {
  auto* easy = slot.easy;
  const auto& request = slot.post;
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &slot);
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");  // a proxy would connect where the check never looked
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, slot.error);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_USERAGENT, std::string(kUserAgent).c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  for (const auto& [name, value] : request.headers) {
    slot.headers = curl_slist_append(slot.headers, (name + ": " + value).c_str());
  }
  slot.headers = curl_slist_append(slot.headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, slot.headers);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_checked_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &slot.exchange);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_answer);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &slot.exchange);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, read_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &slot.exchange);
}

// What a finished post came to.
PostResult result_of(Slot& slot, CURLcode code) {
  PostResult result = std::move(slot.exchange.result);
  // Staff read it in JSON, and PostgreSQL keeps it as text: valid UTF-8 whatever the receiver sent.
  result.answer = common::valid_utf8(result.answer, kAnswerKept);
  result.latency =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - slot.started);
  long status = 0;
  curl_easy_getinfo(slot.easy, CURLINFO_RESPONSE_CODE, &status);
  result.status = static_cast<int>(status);
  // A refused address counts only when no other answered: libcurl tries a name's next address after
  // one the socket hook refused, and an answer from a public one is the receiver's.
  result.refused = result.refused && status == 0;
  if (result.refused) {
    result.error = "refused: the URL's host resolves to a non-public address";
  } else if (code != CURLE_OK) {  // no answer, or one cut short (a reset, the timeout)
    result.error = slot.error[0] != '\0' ? std::string(slot.error) : std::string(curl_easy_strerror(code));
  }
  // keep_answer stopping at kAnswerRead ends the transfer with a write error: the answer was had.
  result.complete = code == CURLE_OK || (code == CURLE_WRITE_ERROR && slot.exchange.read > kAnswerRead);
  if (result.complete) result.error.clear();
  return result;
}

}  // namespace

// One call of post_all: what waits, what is open, and the results. Its end takes back whatever is still
// open (only when post_all leaves by an exception), so the multi handle is never left holding a post.
struct Sender::Run {
  CURLM* multi;
  std::vector<std::unique_ptr<Slot>>& slots;
  std::span<const std::int64_t> targets;
  const Make& make;
  const SendLimits& limits;
  std::vector<std::optional<PostResult>> results;
  std::vector<std::size_t> waiting;  // in order
  std::unordered_map<std::int64_t, std::size_t> open_to;
  std::size_t open = 0;

  ~Run() {
    for (auto& slot : slots) {
      if (slot->busy) {
        curl_multi_remove_handle(multi, slot->easy);
        slot->clear();
      }
    }
  }

  Slot& free_slot() {
    for (auto& slot : slots) {
      if (!slot->busy) return *slot;
    }
    return *slots.emplace_back(std::make_unique<Slot>());
  }

  // Starts what may start now, in order: a post whose target has per_target open waits, the next may go.
  void fill() {
    std::size_t kept = 0;
    for (auto i : waiting) {
      if (open >= limits.in_flight || open_to[targets[i]] >= limits.per_target) {
        waiting[kept++] = i;
      } else if (auto post = make(i)) {
        start(i, std::move(*post));
      }
    }
    waiting.resize(kept);
  }

  void start(std::size_t i, Post post) {
    auto& slot = free_slot();
    slot.post = std::move(post);
    slot.index = i;
    slot.exchange.allow_private = limits.allow_private;
    set_options(slot, limits);
    slot.started = std::chrono::steady_clock::now();
    if (auto code = curl_multi_add_handle(multi, slot.easy); code != CURLM_OK) {
      PostResult failed;
      failed.error = curl_multi_strerror(code);
      results[i] = std::move(failed);
      slot.clear();
      return;
    }
    slot.busy = true;
    ++open;
    ++open_to[targets[i]];
  }

  // Takes the results of the posts that are over.
  void collect() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Slot* slot = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &slot);
      auto code = message->data.result;
      results[slot->index] = result_of(*slot, code);
      curl_multi_remove_handle(multi, slot->easy);
      --open;
      --open_to[targets[slot->index]];
      slot->clear();
    }
  }
};

Sender::Sender() : multi_((init_curl(), curl_multi_init())) {
  if (multi_ == nullptr) throw std::runtime_error("cannot create a libcurl multi handle");
  // Connections kept for reuse: enough for every slot's target and then some.
  curl_multi_setopt(static_cast<CURLM*>(multi_), CURLMOPT_MAXCONNECTS, 64L);
}

Sender::~Sender() {
  slots_.clear();  // the easy handles go before the multi handle
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

std::vector<std::optional<PostResult>> Sender::post_all(std::span<const std::int64_t> targets, const Make& make,
                                                        const SendLimits& limits) {
  Run run{static_cast<CURLM*>(multi_), slots_, targets, make, limits, {}, {}, {}, 0};
  run.results.resize(targets.size());
  run.waiting.resize(targets.size());
  std::iota(run.waiting.begin(), run.waiting.end(), std::size_t{0});
  run.fill();
  while (run.open > 0) {
    int running = 0;
    if (auto code = curl_multi_perform(run.multi, &running); code != CURLM_OK) {
      throw std::runtime_error(std::string("webhook sending failed: ") + curl_multi_strerror(code));
    }
    run.collect();
    run.fill();
    if (run.open > 0) curl_multi_poll(run.multi, nullptr, 0, 1000, nullptr);
  }
  return std::move(run.results);
}

}  // namespace webhooks
