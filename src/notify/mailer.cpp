#include "notify/mailer.hpp"

#include "common/clock.hpp"
#include "notify/mail_format.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <curl/curl.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace notify {
namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("cannot initialise libcurl");
  });
}

// RAII for the libcurl handles of one send.
struct CurlHandles {
  CURL* easy = curl_easy_init();
  curl_slist* recipients = nullptr;
  curl_slist* headers = nullptr;
  curl_mime* mime = nullptr;
  ~CurlHandles() {
    curl_mime_free(mime);
    curl_slist_free_all(headers);
    curl_slist_free_all(recipients);
    curl_easy_cleanup(easy);
  }
};

void add_text_part(curl_mime* mime, const std::string& text, const char* type) {
  auto body = mail_format::crlf_lines(text);  // libcurl copies the data
  curl_mimepart* part = curl_mime_addpart(mime);
  if (part == nullptr || curl_mime_data(part, body.data(), body.size()) != CURLE_OK ||
      curl_mime_type(part, type) != CURLE_OK || curl_mime_encoder(part, "base64") != CURLE_OK) {
    throw std::runtime_error("cannot build the MIME message");
  }
}

// Message-IDs are "<local@domain>"; the file name keeps the safe characters of it.
std::string file_name_for(const std::string& message_id) {
  std::string name;
  for (char c : message_id) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '@') name += c;
  }
  return (name.empty() ? "message" : name) + ".eml";
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  hex.pop_back();
  return hex;
}

[[noreturn]] void fail_io(const std::string& what, const std::filesystem::path& path) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

// Writes the whole file and flushes it to disk, so the rename publishes complete content.
void write_durably(const std::filesystem::path& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_io("cannot create", path);
  std::size_t written = 0;
  while (written < content.size()) {
    auto n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      fail_io("cannot write", path);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) fail_io("cannot flush", path);
}

// Whole seconds (what libcurl takes), rounded up, at least one.
long response_timeout_seconds(std::chrono::milliseconds total) {
  return std::max<long>(1, static_cast<long>((total.count() + 999) / 1000));
}

boost::urls::url_view parse_smtp_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || (parsed->scheme() != "smtp" && parsed->scheme() != "smtps") || parsed->host().empty()) {
    throw std::invalid_argument("must look like smtp://HOST:PORT or smtps://USER:PASS@HOST:PORT");
  }
  return *parsed;
}

}  // namespace

std::string mask_password(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return "(unparsable URL)";
  boost::urls::url u = *parsed;
  if (u.has_password()) u.set_password("***");
  return std::string(u.buffer());
}

void check_smtp_url(std::string_view url) { (void)parse_smtp_url(url); }

SmtpMailer::SmtpMailer(std::string url, SmtpTimeouts timeouts) : url_(std::move(url)), timeouts_(timeouts) {
  auto parsed = parse_smtp_url(url_);
  require_tls_ = parsed.scheme() == "smtp" && parsed.has_userinfo();
  init_curl_once();
}

std::string SmtpMailer::describe() const {
  return "SMTP " + mask_password(url_) + (require_tls_ ? " (STARTTLS required)" : "");
}

void SmtpMailer::send(const Email& email) {
  auto lines = mail_format::header_lines(email, common::now_micros());
  CurlHandles h;
  if (h.easy == nullptr) throw std::runtime_error("cannot create a libcurl handle");
  char error[CURL_ERROR_SIZE] = {};
  auto envelope_from = "<" + mail_format::address_of(email.from) + ">";
  auto envelope_to = "<" + mail_format::address_of(email.to) + ">";

  h.recipients = curl_slist_append(h.recipients, envelope_to.c_str());
  for (const auto& line : lines) h.headers = curl_slist_append(h.headers, line.c_str());
  // libcurl adds "; boundary=..." to the top-level Content-Type it finds among the headers.
  h.headers = curl_slist_append(h.headers, "Content-Type: multipart/alternative");
  h.mime = curl_mime_init(h.easy);
  if (h.recipients == nullptr || h.headers == nullptr || h.mime == nullptr) {
    throw std::runtime_error("cannot build the MIME message");
  }
  add_text_part(h.mime, email.text, "text/plain; charset=UTF-8");  // the last alternative is the preferred one
  add_text_part(h.mime, email.html, "text/html; charset=UTF-8");

  curl_easy_setopt(h.easy, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(h.easy, CURLOPT_NOSIGNAL, 1L);  // we run on a worker thread
  curl_easy_setopt(h.easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h.easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeouts_.connect.count()));
  curl_easy_setopt(h.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeouts_.total.count()));
  // libcurl (7.88) does not apply CURLOPT_TIMEOUT while it waits for the server's answer to the message
  // itself, only this per-answer limit (120 s by default): without it a server that takes the message
  // and never answers holds the worker for two minutes, longer than the outbox lease assumes.
  curl_easy_setopt(h.easy, CURLOPT_SERVER_RESPONSE_TIMEOUT, response_timeout_seconds(timeouts_.total));
  // smtps:// is TLS from the start; for smtp:// this asks for STARTTLS (required with credentials).
  curl_easy_setopt(h.easy, CURLOPT_USE_SSL, require_tls_ ? static_cast<long>(CURLUSESSL_ALL)
                                                         : static_cast<long>(CURLUSESSL_TRY));
  curl_easy_setopt(h.easy, CURLOPT_MAIL_FROM, envelope_from.c_str());
  curl_easy_setopt(h.easy, CURLOPT_MAIL_RCPT, h.recipients);
  curl_easy_setopt(h.easy, CURLOPT_HTTPHEADER, h.headers);
  curl_easy_setopt(h.easy, CURLOPT_MIMEPOST, h.mime);

  CURLcode rc = curl_easy_perform(h.easy);
  if (rc != CURLE_OK) {
    long response = 0;
    curl_easy_getinfo(h.easy, CURLINFO_RESPONSE_CODE, &response);
    std::string detail = error[0] != '\0' ? error : curl_easy_strerror(rc);
    auto why = "SMTP " + mask_password(url_) + ": " + detail +
               (response > 0 ? " (server replied " + std::to_string(response) + ")" : "");
    // 550-556 are about this mailbox or this message; other 5xx (a refused login, a command the
    // server does not know) are the shop's configuration, which may be fixed, so they are retried.
    if (response >= 550 && response <= 556) throw RefusedForGood(why);
    throw std::runtime_error(why);
  }
}

FileMailer::FileMailer(std::string dir) : dir_(std::move(dir)) {
  if (sodium_init() < 0) throw std::runtime_error("cannot initialise libsodium");
}

std::string FileMailer::describe() const { return ".eml files in " + dir_; }

void FileMailer::send(const Email& email) {
  // libcurl can serialise a curl_mime only into an SMTP/IMAP/HTTP transfer, so the file mailer lays
  // out the same structure itself (see docs/architecture.md, "Email").
  auto content = mail_format::file_message(email, common::now_micros(), "orderd-" + random_hex(12));
  std::filesystem::path dir(dir_);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create mail_dir " + dir_ + ": " + ec.message());
  auto name = file_name_for(email.message_id);
  auto temporary = dir / ("." + name + "." + random_hex(4) + ".tmp");
  write_durably(temporary, content);
  std::filesystem::rename(temporary, dir / name, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw std::runtime_error("cannot rename " + temporary.string() + ": " + ec.message());
  }
}

std::unique_ptr<Mailer> make_mailer(const std::string& smtp_url, const std::string& mail_dir, SmtpTimeouts timeouts) {
  if (smtp_url.empty()) return std::make_unique<FileMailer>(mail_dir);
  return std::make_unique<SmtpMailer>(smtp_url, timeouts);
}

}  // namespace notify
