#include "webhooks/sender.hpp"

#include "webhooks/address.hpp"

#include <curl/curl.h>

#include <charconv>
#include <mutex>
#include <stdexcept>

namespace webhooks {
namespace {

constexpr std::string_view kUserAgent = "orderd-webhooks/" ORDERD_VERSION;

struct Exchange {
  PostResult result;
  bool allow_private = false;
  std::size_t read = 0;  // bytes of the answer's body so far
};

// The request's header list, freed after its exchange, when the handle is also reset so that none of
// its options point into the finished exchange (its open connections stay).
struct Headers {
  CURL* easy;
  curl_slist* list = nullptr;
  ~Headers() {
    curl_easy_reset(easy);
    curl_slist_free_all(list);
  }
};

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
  auto& answer = exchange.result.answer;
  if (answer.size() < kAnswerKept) answer.append(data, std::min(bytes, kAnswerKept - answer.size()));
  return bytes;
}

// Retry-After in seconds (an HTTP date is not honoured: receivers asking to wait send seconds).
std::size_t read_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  std::string_view line(data, size * count);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && std::equal(kName.begin(), kName.end(), line.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    auto value = line.substr(kName.size());
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    long long seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc{} && seconds >= 0) exchange.result.retry_after = std::chrono::seconds(seconds);
  }
  return size * count;
}

void set_options(CURL* easy, Headers& h, Exchange& exchange, const Post& request, std::chrono::milliseconds timeout,
                 char* error) {
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");  // a proxy would connect where the check never looked
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kAnswerRead));
  curl_easy_setopt(easy, CURLOPT_USERAGENT, std::string(kUserAgent).c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  for (const auto& [name, value] : request.headers) h.list = curl_slist_append(h.list, (name + ": " + value).c_str());
  h.list = curl_slist_append(h.list, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h.list);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_checked_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &exchange);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_answer);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, read_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &exchange);
}

}  // namespace

Sender::Sender() : easy_((init_curl(), curl_easy_init())) {
  if (easy_ == nullptr) throw std::runtime_error("cannot create a libcurl handle");
}

Sender::~Sender() { curl_easy_cleanup(static_cast<CURL*>(easy_)); }

PostResult Sender::post(const Post& request, std::chrono::milliseconds timeout, bool allow_private) {
  auto* easy = static_cast<CURL*>(easy_);
  Headers headers{easy};
  Exchange exchange;
  exchange.allow_private = allow_private;
  char error[CURL_ERROR_SIZE] = {};
  set_options(easy, headers, exchange, request, timeout, error);
  auto started = std::chrono::steady_clock::now();
  auto code = curl_easy_perform(easy);
  exchange.result.latency =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  exchange.result.status = static_cast<int>(status);
  if (exchange.result.refused) {
    exchange.result.status = 0;
    exchange.result.error = "refused: the URL's host resolves to a non-public address";
  } else if (code != CURLE_OK && status == 0) {
    exchange.result.error = error[0] != '\0' ? std::string(error) : std::string(curl_easy_strerror(code));
  }
  return exchange.result;
}

}  // namespace webhooks
