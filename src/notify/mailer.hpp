#pragma once
// Delivery of one rendered email: over SMTP (libcurl, its MIME API builds the message) or, without a
// mail server, as an .eml file a shop can open. Both send the same headers and the same two parts
// (multipart/alternative: text/plain then text/html, UTF-8, base64).

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace notify {

struct Email {
  std::string from;        // "Shop <no-reply@shop.example>" (the display name may be UTF-8)
  std::string to;          // "customer@example.com"
  std::string subject;     // UTF-8, one line
  std::string html;
  std::string text;
  std::string message_id;  // "<...@...>", see notify::message_id
};

// The mail server refused this message for good (RFC 5321: a 550-556 reply to the recipient or
// the message, such as "no such mailbox" or "rejected as spam"): sending it again cannot succeed.
struct RefusedForGood : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Delivers the message or throws std::runtime_error saying why (never with a password in it);
  // RefusedForGood when the server's answer says that trying again would not help.
  virtual void send(const Email& email) = 0;
  // Where mail goes, for the start-up log line (passwords masked).
  virtual std::string describe() const = 0;
};

struct SmtpTimeouts {
  std::chrono::milliseconds connect{10'000};
  // The transfer's limit, and also the limit of each wait for one answer of the server: a server that
  // hangs after taking the message is given up after `total` too, so one delivery takes at most about
  // twice `total` (libcurl's transfer timeout does not cover that last wait).
  std::chrono::milliseconds total{30'000};
};

// smtp://HOST:PORT: plain SMTP that upgrades with STARTTLS when the server offers it (opportunistic);
// with a user and password in the URL, STARTTLS is required so credentials never travel in clear.
// smtps://USER:PASS@HOST:465: TLS from the first byte. Certificates are verified in both cases.
class SmtpMailer final : public Mailer {
 public:
  explicit SmtpMailer(std::string url, SmtpTimeouts timeouts = {});
  void send(const Email& email) override;
  std::string describe() const override;

 private:
  std::string url_;
  SmtpTimeouts timeouts_;
  bool require_tls_ = false;
};

// Writes each message as DIR/<message id>.eml (to a temporary name, then renamed, so a reader never
// sees half a file). Resending a message replaces its file.
class FileMailer final : public Mailer {
 public:
  explicit FileMailer(std::string dir);
  void send(const Email& email) override;
  std::string describe() const override;

 private:
  std::string dir_;
};

// Throws std::invalid_argument, saying why, unless `url` is a URL SmtpMailer takes.
void check_smtp_url(std::string_view url);

// SmtpMailer for a non-empty smtp_url, else FileMailer into mail_dir. Throws on an unusable URL.
std::unique_ptr<Mailer> make_mailer(const std::string& smtp_url, const std::string& mail_dir,
                                    SmtpTimeouts timeouts = {});

// The URL with its password replaced by "***", for logs and errors.
std::string mask_password(std::string_view url);

}  // namespace notify
