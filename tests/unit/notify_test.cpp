#include "common/clock.hpp"
#include "common/currency.hpp"
#include "common/metrics.hpp"
#include "db/database.hpp"
#include "db/migrate.hpp"
#include "notify/account_emails.hpp"
#include "notify/mail_format.hpp"
#include "notify/mailer.hpp"
#include "notify/outbox.hpp"
#include "notify/sealed.hpp"
#include "notify/templates.hpp"
#include "notify/worker.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& purpose) {
  auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = fs::temp_directory_path() /
             ("orderd-notify-" + purpose + "-" + std::to_string(::getpid()) + "-" + info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

boost::json::object contract_context() {
  auto context = notify::Templates::sample_context();
  context.erase("shop_name");  // the renderer adds it from configuration
  return context;
}

// ---------------------------------------------------------------------------------------------
// Templates

TEST(EmailTemplates, RenderEveryDetailOfTheOrder) {
  auto templates = notify::Templates::load("", "Corner Shop");
  auto email = templates.render(contract_context());
  EXPECT_EQ(email.subject, "Your Corner Shop order #42 is confirmed");
  for (const auto* body : {&email.html, &email.text}) {
    // Money and dates as people read them (the `currency` setting, USD by default).
    for (const char* detail : {"#42", "4 May 2024, 12:00 UTC", "example_user", "customer@example.com",
                               "Product A", "Product B", "$50.00", "$30.00", "$100.00", "$130.00", "Corner Shop"}) {
      EXPECT_THAT(*body, HasSubstr(detail));
    }
  }
  EXPECT_THAT(email.text, HasSubstr("2 x $50.00 = $100.00"));
  EXPECT_THAT(email.text, HasSubstr("Total: $130.00"));
  EXPECT_THAT(email.html, HasSubstr(">2</td>"));
  EXPECT_THAT(email.html, Not(HasSubstr("http")));  // no external resources
}

TEST(EmailTemplates, EscapeHtmlInTheHtmlBodyOnly) {
  auto templates = notify::Templates::load("", "Salt & Pepper");
  auto context = contract_context();
  context["items"].as_array()[0].as_object()["product"] = "Fish & Chips <b>";
  auto email = templates.render(context);
  EXPECT_THAT(email.html, HasSubstr("Fish &amp; Chips &lt;b&gt;"));
  EXPECT_THAT(email.html, HasSubstr("Salt &amp; Pepper"));
  EXPECT_THAT(email.html, Not(HasSubstr("<b>")));
  EXPECT_THAT(email.text, HasSubstr("Fish & Chips <b>"));
  EXPECT_EQ(email.subject, "Your Salt & Pepper order #42 is confirmed");
}

// A subject is header text: printable characters and spaces. A name holding a vertical tab or a form
// feed (a product's, in the low-stock subject; the shop's here) gives a space, as a line break does.
TEST(EmailTemplates, EveryControlCharacterInASubjectBecomesASpace) {
  auto templates = notify::Templates::load("", "Salt\vand\fPepper\x7f\x01" "Co\r\nBcc: x@example.com");
  EXPECT_EQ(templates.render(contract_context()).subject,
            "Your Salt and Pepper Co Bcc: x@example.com order #42 is confirmed");
}

TEST(EmailTemplates, ADirectoryOverridesFileByFile) {
  auto dir = fresh_dir("templates");
  write_file(dir / "order_confirmation.subject.mustache", "Order {{order_id}}\nfrom {{shop_name}}\n");
  auto templates = notify::Templates::load(dir.string(), "Shop");
  EXPECT_EQ(templates.subject_source(), (dir / "order_confirmation.subject.mustache").string());
  EXPECT_EQ(templates.html_source(), "built-in order_confirmation.html.mustache");
  EXPECT_EQ(templates.text_source(), "built-in order_confirmation.txt.mustache");
  auto email = templates.render(contract_context());
  EXPECT_EQ(email.subject, "Order 42 from Shop");  // one header line
  EXPECT_THAT(email.html, HasSubstr("Product A"));
  fs::remove_all(dir);
}

void expect_rejected(const std::string& file, const std::string& text, const std::string& reason) {
  auto dir = fresh_dir("broken");
  write_file(dir / file, text);
  try {
    (void)notify::Templates::load(dir.string(), "Shop");
    ADD_FAILURE() << file << " was accepted: " << text;
  } catch (const notify::TemplateError& e) {
    EXPECT_THAT(e.what(), HasSubstr((dir / file).string()));
    EXPECT_THAT(e.what(), HasSubstr(reason));
  }
  fs::remove_all(dir);
}

TEST(EmailTemplates, ASyntaxErrorIsRejectedNamingTheFile) {
  expect_rejected("order_confirmation.html.mustache", "<ul>{{#items}}<li>{{product}}</li></ul>", "Unclosed section");
  expect_rejected("order_confirmation.txt.mustache", "{{/items}}", "items");
  expect_rejected("order_confirmation.subject.mustache", "Order {{order_id", "Unclosed tag");
}

TEST(EmailTemplates, AnUnknownVariableIsRejectedNamingTheFile) {
  expect_rejected("order_confirmation.subject.mustache", "Order {{order_number}}", "{{order_number}}");
  expect_rejected("order_confirmation.html.mustache", "{{#items}}{{product}} {{unit_price}}{{/items}}",
                  "{{unit_price}}");
  expect_rejected("order_confirmation.txt.mustache", "{{^items}}{{nothing_here}}{{/items}}", "{{nothing_here}}");
  expect_rejected("order_confirmation.txt.mustache", "{{product}}", "{{product}}");  // only inside items
  expect_rejected("order_confirmation.txt.mustache", "{{> footer}}", "footer");
}

TEST(EmailTemplates, AnEmptySubjectIsRejected) {
  expect_rejected("order_confirmation.subject.mustache", "{{#items}}{{/items}}\n", "empty subject");
}

// Every kind of email (#18): each sample of each kind renders, in the shop's currency, with dates
// written for people; each wording of order_cancelled says what happened.

std::string both_bodies(std::string_view kind, const std::string& sample, const std::string& currency = "USD") {
  auto templates = notify::Templates::load("", "Corner Shop", *common::Currency::find(currency));
  for (const auto& s : notify::Templates::sample_contexts(kind)) {
    if (s.name != sample) continue;
    auto email = templates.render(kind, s.context);
    EXPECT_FALSE(email.subject.empty());
    EXPECT_THAT(email.html, HasSubstr("Corner Shop"));
    return email.subject + "\n----\n" + email.text + "\n----\n" + email.html;
  }
  ADD_FAILURE() << kind << " has no sample " << sample;
  return {};
}

TEST(EmailTemplates, EveryKindRendersEverySample) {
  for (auto kind : notify::kEmailKinds) {
    auto samples = notify::Templates::sample_contexts(kind);
    ASSERT_FALSE(samples.empty()) << kind;
    for (const auto& sample : samples) {
      auto all = both_bodies(kind, sample.name);
      // An account email (#20) is about no order: its sample shows the link's placeholder instead.
      auto about = notify::is_account_email(kind) ? notify::kHiddenInPreview : std::string_view("#42");
      EXPECT_THAT(all, HasSubstr(std::string(about))) << kind;
      EXPECT_THAT(all, HasSubstr("example_user")) << kind;
      EXPECT_THAT(all, Not(HasSubstr("T12:00:00"))) << kind;  // no raw timestamps for people
    }
  }
}

TEST(EmailTemplates, TheShippedEmailCarriesTheTrackingAndTheParcel) {
  auto all = both_bodies(notify::kOrderShipped, "default");
  EXPECT_THAT(all, HasSubstr("Your Corner Shop order #42 is on its way\n"));
  for (const char* detail : {"DHL", "JD014600006281", "https://www.dhl.com/track?id=JD014600006281",
                             "5 May 2024, 09:30 UTC", "- Product A x 2"}) {
    EXPECT_THAT(all, HasSubstr(detail));
  }
}

TEST(EmailTemplates, TheRefundEmailStatesTheAmount) {
  auto all = both_bodies(notify::kRefundIssued, "default");
  EXPECT_THAT(all, HasSubstr("Corner Shop refunded $30.00 for order #42\n"));
  for (const char* detail : {"Product B arrived broken", "7 May 2024, 16:45 UTC", "$30.00 of $130.00"}) {
    EXPECT_THAT(all, HasSubstr(detail));
  }
}

TEST(EmailTemplates, EachCancelWordingSaysWhatHappened) {
  auto customer = both_bodies(notify::kOrderCancelled, "customer");
  EXPECT_THAT(customer, HasSubstr("as you asked, we have cancelled your order #42. Nothing was charged."));
  EXPECT_THAT(customer, Not(HasSubstr("refunded")));
  auto staff = both_bodies(notify::kOrderCancelled, "staff");
  EXPECT_THAT(staff, HasSubstr("we have cancelled your order #42. It was not paid, so nothing was charged."));
  EXPECT_THAT(staff, Not(HasSubstr("as you asked")));
  auto refunded = both_bodies(notify::kOrderCancelled, "refunded");
  // Queued before the gateway answers the refund: it is on its way, not made (refund_issued says that).
  EXPECT_THAT(refunded, HasSubstr("Your Corner Shop order #42 is cancelled: $130.00 to be refunded\n"));
  EXPECT_THAT(refunded, HasSubstr("and are refunding $130.00 to the card you paid with"));
  EXPECT_THAT(refunded, Not(HasSubstr("not paid")));
  EXPECT_THAT(refunded, Not(HasSubstr("refunded $130.00")));
  auto earlier = both_bodies(notify::kOrderCancelled, "refunded_earlier");
  EXPECT_THAT(earlier, HasSubstr("Your Corner Shop order #42 is cancelled\n"));
  EXPECT_THAT(earlier, HasSubstr("What you paid for it has already been refunded"));
  EXPECT_THAT(earlier, Not(HasSubstr("not paid")));
  EXPECT_THAT(both_bodies(notify::kOrderExpired, "default"), HasSubstr("was not paid in time"));
  EXPECT_THAT(both_bodies(notify::kOrderExpired, "default"), HasSubstr("4 May 2024, 12:15 UTC"));
}

TEST(EmailTemplates, TheCurrencySettingChangesEveryAmount) {
  auto euro = both_bodies(notify::kOrderConfirmation, "default", "EUR");
  EXPECT_THAT(euro, HasSubstr("2 x 50,00 € = 100,00 €"));
  EXPECT_THAT(euro, HasSubstr("Total: 130,00 €"));
  EXPECT_THAT(both_bodies(notify::kRefundIssued, "default", "JPY"), HasSubstr("refunded ¥30 for order #42"));
  EXPECT_THAT(both_bodies(notify::kOrderCancelled, "refunded", "GBP"), HasSubstr("£130.00 to be refunded"));
}

TEST(EmailTemplates, OldCustomTemplatesKeepTheRawValuesAndMayUseTheNewForms) {
  auto dir = fresh_dir("raw");
  write_file(dir / "order_confirmation.txt.mustache",
             "{{total_amount}} {{created_at}} {{#items}}{{price}}{{/items}}|{{total_amount_display}} "
             "{{created_at_display}} {{currency}} {{#items}}{{price_display}};{{/items}}");
  auto templates = notify::Templates::load(dir.string(), "Shop", *common::Currency::find("GBP"));
  EXPECT_EQ(templates.render(contract_context()).text,
            "130.00 2024-05-04T12:00:00.123456Z 50.0030.00|£130.00 4 May 2024, 12:00 UTC GBP £50.00;£30.00;");
  fs::remove_all(dir);
}

TEST(EmailTemplates, EveryKindsFilesAreCheckedAtLoad) {
  expect_rejected("order_shipped.txt.mustache", "{{tracking}}", "{{tracking}}");
  expect_rejected("refund_issued.subject.mustache", "{{carrier}}", "{{carrier}}");  // a shipped email's field
  expect_rejected("order_expired.html.mustache", "{{#items}}", "Unclosed section");
  // Inside a wording's section: looked at with the sample that opens it.
  expect_rejected("order_cancelled.txt.mustache", "{{#refunded}}{{refund_amout_display}}{{/refunded}}",
                  "{{refund_amout_display}}");
  expect_rejected("order_shipped.txt.mustache", "{{#shipped_items}}{{price}}{{/shipped_items}}", "{{price}}");
}

// The account emails (#20) are kinds like the others: their files are checked at load, and a stored
// row's sealed link is opened only to send, never to preview.
TEST(EmailTemplates, AccountEmailsAreCheckedAtLoadAndTheirSamplesShowNoLink) {
  expect_rejected("password_reset.txt.mustache", "{{verification_url}}", "{{verification_url}}");
  expect_rejected("email_verification.subject.mustache", "{{#username}}", "Unclosed section");
  auto reset = both_bodies(notify::kPasswordReset, "default");
  EXPECT_THAT(reset, HasSubstr("Reset your Corner Shop password\n"));
  EXPECT_THAT(reset, HasSubstr("within 1 hour"));
  EXPECT_THAT(reset, Not(HasSubstr("token=")));
  auto verify = both_bodies(notify::kEmailVerification, "default");
  EXPECT_THAT(verify, HasSubstr("customer@example.com"));
  EXPECT_THAT(verify, Not(HasSubstr("token=")));
}

TEST(EmailTemplates, AStoredAccountEmailOpensItsLinkToSendAndHidesItInAPreview) {
  auto templates = notify::Templates::load("", "Shop");
  auto context = notify::Templates::sample_contexts(notify::kPasswordReset)[0].context;
  context.erase("reset_url");
  auto sealer = std::make_shared<notify::Sealer>("a-secret-of-the-server-0123456789");
  context[notify::kSealedKey] = sealer->seal({{"reset_url", "https://shop.example.com/r?token=T0KEN"}});
  auto payload = boost::json::serialize(context);
  // Without the sealer (or with another secret) the row cannot be rendered at all.
  EXPECT_THROW(notify::render_stored(templates, notify::kPasswordReset, payload), notify::TemplateError);
  templates.set_sealer(sealer);
  EXPECT_THAT(notify::render_stored(templates, notify::kPasswordReset, payload).text, HasSubstr("token=T0KEN"));
  auto preview = notify::render_stored(templates, notify::kPasswordReset, payload, notify::SealedFields::hidden);
  EXPECT_THAT(preview.text + preview.html, Not(HasSubstr("T0KEN")));
  EXPECT_THAT(preview.text, HasSubstr(std::string(notify::kHiddenInPreview)));
}

TEST(EmailTemplates, AStoredRowOfAnUnknownKindIsNotRenderable) {
  auto templates = notify::Templates::load("", "Shop");
  EXPECT_THROW(notify::render_stored(templates, "order_teleported", "{}"), notify::TemplateError);
  EXPECT_THROW(notify::render_stored(templates, "order_shipped", "[1]"), notify::TemplateError);
  auto shipped = notify::Templates::sample_contexts(notify::kOrderShipped)[0].context;
  auto email = notify::render_stored(templates, "order_shipped", boost::json::serialize(shipped));
  EXPECT_THAT(email.text, HasSubstr("JD014600006281"));
}

// ---------------------------------------------------------------------------------------------
// Message format

std::string decode_words(const std::string& header) {
  std::string out;
  std::istringstream words(header);
  std::string word;
  while (words >> word) {
    EXPECT_LE(word.size(), 75u) << word;
    EXPECT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?=")) << word;
    auto b64 = word.substr(10, word.size() - 12);
    std::string bin(b64.size(), '\0');
    std::size_t len = 0;
    EXPECT_EQ(sodium_base642bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(), b64.data(), b64.size(),
                                nullptr, &len, nullptr, sodium_base64_VARIANT_ORIGINAL),
              0);
    bin.resize(len);
    // Each word must hold whole characters: it must not end inside a UTF-8 sequence.
    if (!bin.empty()) {
      std::size_t i = bin.size() - 1;
      while (i > 0 && (static_cast<unsigned char>(bin[i]) & 0xC0) == 0x80) --i;
      auto lead = static_cast<unsigned char>(bin[i]);
      std::size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      EXPECT_EQ(bin.size() - i, need) << "a word ends inside a character";
    }
    out += bin;
  }
  return out;
}

TEST(MailFormat, NonAsciiHeadersBecomeEncodedWordsOfWholeCharacters) {
  EXPECT_EQ(notify::mail_format::encode_header_text("Your order #42"), "Your order #42");
  std::string subject = "Bestätigung Ihrer Bestellung #42 – Café Crème ✓ – ünïcödé everywhere, again and again";
  auto encoded = notify::mail_format::encode_header_text(subject);
  EXPECT_THAT(encoded, HasSubstr("?=\r\n =?UTF-8?B?"));  // folded between words
  EXPECT_EQ(decode_words(encoded), subject);
}

// Every line of "Subject: " + the encoded text: at most 78 octets, and a continuation starts with a space.
std::vector<std::string> header_field_lines(const std::string& value) {
  std::vector<std::string> lines;
  std::string all = "Subject: " + value;
  for (std::size_t pos = 0;;) {
    auto end = all.find("\r\n", pos);
    lines.push_back(all.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    if (end == std::string::npos) break;
    pos = end + 2;
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), 78u) << lines[i];
    EXPECT_TRUE(i == 0 || lines[i].starts_with(" ")) << lines[i];
    EXPECT_THAT(lines[i], Not(HasSubstr("\n")));
  }
  return lines;
}

std::string unfold(std::string folded) {
  for (std::size_t at; (at = folded.find("\r\n ")) != std::string::npos;) folded.erase(at, 2);
  return folded;
}

// A staff alert about a product of 200 CJK characters was one Subject line of 1,063 octets, which
// an SMTP server refuses (RFC 5322's limit is 998): the long subject is folded instead.
TEST(MailFormat, LongSubjectsAreFoldedIntoShortLines) {
  std::string cjk;
  for (int i = 0; i < 200; ++i) cjk += "\u5546";
  auto encoded = notify::mail_format::encode_header_text("Low stock: " + cjk);
  EXPECT_GT(header_field_lines(encoded).size(), 10u);
  EXPECT_EQ(decode_words(encoded), "Low stock: " + cjk);

  std::string ascii = "Your order #42:";
  for (int i = 0; i < 100; ++i) ascii += " Product number " + std::to_string(i) + ",";
  auto folded = notify::mail_format::encode_header_text(ascii);
  EXPECT_GT(header_field_lines(folded).size(), 20u);
  EXPECT_EQ(unfold(folded), ascii);  // folding only put CRLF before spaces that were there

  std::string word(1200, 'x');  // no space to fold at: encoded words, which fold
  auto long_word = notify::mail_format::encode_header_text("Order " + word);
  header_field_lines(long_word);
  EXPECT_EQ(decode_words(long_word), "Order " + word);
  EXPECT_EQ(notify::mail_format::encode_header_text("Your order #42"), "Your order #42");
}

TEST(MailFormat, TextPartsEndTheirLinesWithCrlf) {
  using notify::mail_format::crlf_lines;
  EXPECT_EQ(crlf_lines("Hello\nyour order\r\nis paid\n"), "Hello\r\nyour order\r\nis paid\r\n");
  EXPECT_EQ(crlf_lines("\n\n"), "\r\n\r\n");
  EXPECT_EQ(crlf_lines("no break"), "no break");
}

TEST(MailFormat, MailboxesAndDates) {
  using namespace notify::mail_format;
  EXPECT_EQ(address_of("orderd <no-reply@shop.example>"), "no-reply@shop.example");
  EXPECT_EQ(address_of("buyer@example.com"), "buyer@example.com");
  EXPECT_EQ(domain_of("orderd <no-reply@shop.example>"), "shop.example");
  EXPECT_EQ(encode_mailbox("Shop <a@b.c>"), "Shop <a@b.c>");
  EXPECT_THAT(encode_mailbox("Café <a@b.c>"), ::testing::MatchesRegex("=\\?UTF-8\\?B\\?.*\\?= <a@b.c>"));
  // Unquoted, a comma made two mailboxes of one and a dot is not allowed in a phrase (RFC 5322 3.4).
  EXPECT_EQ(encode_mailbox("Shop, Inc. <a@b.c>"), "\"Shop, Inc.\" <a@b.c>");
  EXPECT_EQ(encode_mailbox("Say \"hi\" \\ co. <a@b.c>"), "\"Say \\\"hi\\\" \\\\ co.\" <a@b.c>");
  EXPECT_EQ(encode_mailbox("\"Shop, Inc.\" <a@b.c>"), "\"Shop, Inc.\" <a@b.c>");
  EXPECT_EQ(encode_mailbox("  <a@b.c>"), "<a@b.c>");
  EXPECT_EQ(rfc5322_date(1714824000LL * 1000000 + 123456), "Sat, 04 May 2024 12:00:00 +0000");
}

TEST(MailFormat, OnlyASenderAMailServerTakesPassesTheCheck) {
  using notify::mail_format::mailbox_problem;
  for (const char* good : {"orderd <no-reply@localhost>", "shop@example.com", "Shop, Inc. <orders@shop.example>",
                           "Café Zürich <hallo@cafe.example>", "o'brien+shop@mail.example.co.uk", "<a@b.c>"}) {
    EXPECT_EQ(mailbox_problem(good), std::nullopt) << good;
  }
  auto problem = [](std::string_view mailbox) { return mailbox_problem(mailbox).value_or("(none)"); };
  EXPECT_EQ(problem("Shop"), "\"Shop\" has no @domain");
  EXPECT_EQ(problem("Shop <orders>"), "\"orders\" has no @domain");
  EXPECT_THAT(problem("café@shop.example"), ::testing::HasSubstr("before @ must be ASCII"));
  EXPECT_THAT(problem("a b@shop.example"), ::testing::HasSubstr("before @ must be ASCII"));
  EXPECT_THAT(problem("a..b@shop.example"), ::testing::HasSubstr("before @ must be ASCII"));
  EXPECT_THAT(problem("shop@bücher.example"), ::testing::HasSubstr("xn--"));
  EXPECT_THAT(problem("shop@-bad.example"), ::testing::HasSubstr("domain"));
  EXPECT_THAT(problem("shop@a..b"), ::testing::HasSubstr("domain"));
  EXPECT_EQ(problem("Shop <a@b.c> extra"), "must be an address, or a name followed by <address>");
  EXPECT_EQ(problem("Shop <a@b.c>\r\nBcc: x@y.z"), "must be one line");
  EXPECT_EQ(problem(std::string(250, 'a') + "@b.cd"), "the address is longer than 254 characters");
}

TEST(MailFormat, HeadersRefuseLineBreaks) {
  notify::Email email{"Shop <a@b.c>", "buyer@example.com", "Hi\r\nBcc: victim@example.com", "", "", "<1@b.c>"};
  EXPECT_THROW(notify::mail_format::header_lines(email, 0), std::invalid_argument);
  email.subject = "Hi";
  email.to = "not an address";
  EXPECT_THROW(notify::mail_format::header_lines(email, 0), std::invalid_argument);
}

TEST(MailFormat, PasswordsAreMaskedAndMessageIdsNameTheRow) {
  EXPECT_EQ(notify::mask_password("smtps://user:s3cret@mail.example:465"), "smtps://user:***@mail.example:465");
  EXPECT_EQ(notify::mask_password("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
  EXPECT_EQ(notify::message_id(7, 1714824000000000, "shop.example"), "<orderd.outbox.7.1714824000000000@shop.example>");
}

// ---------------------------------------------------------------------------------------------
// Mailers

notify::Email sample_email() {
  return {"Café Shop <shop@example.com>", "buyer@example.com", "Bestellung #42 – Café ✓",
          "<p>Fish &amp; Chips: 130.00 €</p>", "Fish & Chips: 130.00 €\n", "<orderd.outbox.1.2@example.com>"};
}

TEST(FileMailer, WritesOneCompleteEmlFilePerMessage) {
  auto dir = fresh_dir("mail");
  notify::FileMailer mailer((dir / "sub").string());
  mailer.send(sample_email());
  mailer.send(sample_email());  // the same message again replaces its file
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir / "sub")) files.push_back(entry.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].filename(), "orderd.outbox.1.2@example.com.eml");
  auto eml = read_file(files[0]);
  EXPECT_THAT(eml, HasSubstr("Subject: =?UTF-8?B?"));
  EXPECT_THAT(eml, HasSubstr("To: buyer@example.com\r\n"));
  EXPECT_THAT(eml, HasSubstr("Message-ID: <orderd.outbox.1.2@example.com>\r\n"));
  EXPECT_THAT(eml, HasSubstr("MIME-Version: 1.0\r\n"));
  EXPECT_THAT(eml, HasSubstr("Content-Type: multipart/alternative; boundary="));
  auto text_at = eml.find("Content-Type: text/plain; charset=UTF-8");
  auto html_at = eml.find("Content-Type: text/html; charset=UTF-8");
  ASSERT_NE(text_at, std::string::npos);
  ASSERT_NE(html_at, std::string::npos);
  EXPECT_LT(text_at, html_at);  // the preferred alternative comes last
  fs::remove_all(dir);
}

// tests/api/smtp_sink.py run as a program: a real SMTP server (aiosmtpd) that writes each message it
// receives, parsed by Python's email package, as DIR/<n>.json.
class SmtpSinkProcess {
 public:
  explicit SmtpSinkProcess(const fs::path& out) : out_(out) {
    std::string script = std::string(ORDERD_SOURCE_DIR) + "/tests/api/smtp_sink.py";
    std::string dir = out.string();
    int fds[2];
    if (::pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    const char* python = "/usr/bin/python3";
    char* argv[] = {const_cast<char*>(python), script.data(), dir.data(), nullptr};
    if (posix_spawn(&pid_, python, &actions, nullptr, argv, environ) != 0) pid_ = 0;
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    FILE* in = ::fdopen(fds[0], "r");
    if (in == nullptr || std::fscanf(in, "%d", &port_) != 1) port_ = 0;
    if (in != nullptr) std::fclose(in);
  }
  ~SmtpSinkProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }

  // The n-th received message (1-based), waiting up to 10 s for it.
  std::optional<boost::json::object> message(int n) const {
    auto path = out_ / (std::to_string(n) + ".json");
    for (int i = 0; i < 500 && !fs::exists(path); ++i) std::this_thread::sleep_for(20ms);
    if (!fs::exists(path)) return std::nullopt;
    return boost::json::parse(read_file(path)).as_object();
  }

 private:
  fs::path out_;
  pid_t pid_ = 0;
  int port_ = 0;
};

TEST(SmtpMailer, DeliversMultipartAlternativeToARealSmtpServer) {
  auto dir = fresh_dir("smtp");
  SmtpSinkProcess sink(dir);
  if (sink.port() == 0) GTEST_SKIP() << "python3-aiosmtpd is not installed (scripts/install-deps --test)";
  notify::SmtpMailer mailer("smtp://127.0.0.1:" + std::to_string(sink.port()));
  auto email = sample_email();
  mailer.send(email);
  auto got = sink.message(1);
  ASSERT_TRUE(got) << "the SMTP server received nothing";
  auto& m = *got;
  auto field = [&](const char* key) { return m[key].is_string() ? std::string(m[key].as_string()) : "(missing)"; };
  EXPECT_EQ(field("mail_from"), "shop@example.com");
  EXPECT_EQ(boost::json::value(m["rcpt_tos"]), boost::json::value(boost::json::array{"buyer@example.com"}));
  EXPECT_EQ(field("subject"), email.subject);  // RFC 2047 decoded by Python
  EXPECT_THAT(field("from"), HasSubstr("Café Shop"));
  EXPECT_EQ(field("to"), "buyer@example.com");
  EXPECT_EQ(field("message_id"), email.message_id);
  EXPECT_EQ(field("mime_version"), "1.0");
  EXPECT_THAT(field("date"), ::testing::MatchesRegex(".*, .* \\+0000"));
  EXPECT_EQ(field("content_type"), "multipart/alternative");
  EXPECT_EQ(boost::json::value(m["parts"]), boost::json::value(boost::json::array{"text/plain", "text/html"}));
  EXPECT_THAT(field("text"), HasSubstr("Fish & Chips: 130.00 €"));
  EXPECT_THAT(field("html"), HasSubstr("<p>Fish &amp; Chips: 130.00 €</p>"));
  fs::remove_all(dir);
}

int unused_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

TEST(SmtpMailer, FailuresSayWhyWithoutThePassword) {
  notify::SmtpMailer mailer("smtp://user:s3cret@127.0.0.1:" + std::to_string(unused_port()));
  try {
    mailer.send(sample_email());
    ADD_FAILURE() << "sent to a closed port";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("SMTP smtp://user:***@127.0.0.1:"));
    EXPECT_THAT(e.what(), Not(HasSubstr("s3cret")));
  }
  EXPECT_THAT(mailer.describe(), Not(HasSubstr("s3cret")));
  EXPECT_THROW(notify::SmtpMailer("http://example.com"), std::invalid_argument);
}

TEST(SmtpMailer, AServerThatNeverAnswersCannotHoldTheWorker) {
  // A listening socket nobody accepts from: the TCP handshake completes, the greeting never comes.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  notify::SmtpMailer mailer("smtp://127.0.0.1:" + std::to_string(ntohs(a.sin_port)), {.connect = 500ms, .total = 500ms});
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(mailer.send(sample_email()), std::runtime_error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ::close(s);
}

// ---------------------------------------------------------------------------------------------
// Outbox and worker

TEST(Outbox, BackoffDoublesFromOneSecondUpToTheCap) {
  std::vector<std::int64_t> seconds;
  for (int attempts = 1; attempts <= 8; ++attempts) {
    seconds.push_back(std::chrono::duration_cast<std::chrono::seconds>(notify::retry_delay(attempts, 30s)).count());
  }
  EXPECT_EQ(seconds, (std::vector<std::int64_t>{1, 2, 4, 8, 16, 30, 30, 30}));
  EXPECT_EQ(notify::retry_delay(3, 3s), 3s);
  EXPECT_EQ(notify::retry_delay(1000, 30s), 30s);
}

class FakeMailer : public notify::Mailer {
 public:
  void send(const notify::Email& email) override {
    std::lock_guard lock(mutex);
    if (fail) throw std::runtime_error("451 mailbox busy");
    sent.push_back(email);
  }
  std::string describe() const override { return "fake"; }
  std::mutex mutex;
  bool fail = false;
  std::vector<notify::Email> sent;
};

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir("outbox");
    database_ = db::open("sqlite://" + (dir_ / "test.db").string());
    db::migrate(*database_);
  }
  void TearDown() override {
    database_.reset();
    fs::remove_all(dir_);
  }

  std::int64_t enqueue(std::int64_t order_id, const std::string& payload_override = {}) {
    database_->transaction([&](db::Connection& c) {
      notify::enqueue_order_confirmation(c, order_id, "buyer@example.com", contract_context());
    });
    auto id = queued(notify::kOrderConfirmation, order_id, 0);
    if (!payload_override.empty()) sql("UPDATE outbox SET payload = $2 WHERE id = $1", id, payload_override);
    return id;
  }
  // The id of the row queued for (kind, order_id, ref), or 0.
  std::int64_t queued(std::string_view kind, std::int64_t order_id, std::int64_t ref) {
    auto r = sql("SELECT id FROM outbox WHERE kind = $1 AND order_id = $2 AND ref = $3", kind, order_id, ref);
    return r.empty() ? 0 : r[0].integer(0);
  }
  template <class... Args>
  db::Result sql(std::string_view text, const Args&... args) {
    return database_->transaction([&](db::Connection& c) { return c.query(text, args...); });
  }
  notify::EmailRow row(std::int64_t id) {
    return *database_->read([&](db::Connection& c) { return notify::find_email(c, id); });
  }
  std::vector<notify::ClaimedEmail> claim(std::int64_t now, std::int64_t lease_until, int limit = 10) {
    return database_->transaction(
        [&](db::Connection& c) { return notify::claim_due(c, now, lease_until, limit); });
  }
  std::unique_ptr<notify::OutboxWorker> worker(notify::Mailer& mailer, notify::WorkerOptions options = {}) {
    options.mail_from = "Shop <shop@example.com>";
    return std::make_unique<notify::OutboxWorker>(*database_, templates_, mailer, metrics_, options);
  }

  fs::path dir_;
  std::unique_ptr<db::Database> database_;
  notify::Templates templates_ = notify::Templates::load("", "Corner Shop");
  common::Metrics metrics_;
};

TEST_F(OutboxTest, AnOrderIsConfirmedOnceHoweverOftenItIsQueued) {
  auto first = enqueue(7);
  database_->transaction([&](db::Connection& c) {
    notify::enqueue_order_confirmation(c, 7, "someone.else@example.com", {});
  });
  EXPECT_EQ(sql("SELECT COUNT(*) FROM outbox")[0].integer(0), 1);
  auto r = row(first);
  EXPECT_EQ(r.recipient, "buyer@example.com");  // the second was ignored, not written over the first
  EXPECT_EQ(r.status, "pending");
  EXPECT_EQ(r.kind, "order_confirmation");
  EXPECT_EQ(r.order_id, 7);
  EXPECT_EQ(r.attempts, 0);
}

TEST_F(OutboxTest, ALeasedRowIsNotClaimedAgainUntilItsLeaseExpires) {
  auto id = enqueue(1);
  auto now = common::now_micros();
  auto first = claim(now, now + 60'000'000);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id, id);
  EXPECT_EQ(first[0].attempts, 1);
  EXPECT_EQ(row(id).status, "sending");
  EXPECT_TRUE(claim(now + 1'000'000, now + 61'000'000).empty());
  EXPECT_TRUE(claim(now + 59'000'000, now + 119'000'000).empty());

  // The first worker died: after the lease another one takes the row over...
  auto second = claim(now + 60'000'001, now + 120'000'000);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempts, 2);
  // ...and the first one, if it was only slow, can no longer record an outcome over the new claim.
  database_->transaction([&](db::Connection& c) {
    EXPECT_FALSE(notify::mark_sent(c, first[0], now));
    EXPECT_TRUE(notify::mark_sent(c, second[0], now));
  });
  EXPECT_EQ(row(id).status, "sent");
  EXPECT_EQ(row(id).sent_at, now);
  EXPECT_TRUE(claim(now + 999'000'000, now + 999'000'001).empty());
}

TEST_F(OutboxTest, AClaimTakesTheEarliestDueRowsOfBothKindsUpToItsLimit) {
  auto now = common::now_micros();
  auto pending_late = enqueue(1), pending_early = enqueue(2), lease_expired = enqueue(3), not_due = enqueue(4),
       leased = enqueue(5);
  sql("UPDATE outbox SET next_attempt_at = $2 WHERE id = $1", pending_late, now - 5);
  sql("UPDATE outbox SET next_attempt_at = $2 WHERE id = $1", pending_early, now - 50);
  sql("UPDATE outbox SET status = 'sending', attempts = 1, next_attempt_at = $2, locked_until = $2 WHERE id = $1",
      lease_expired, now - 20);
  sql("UPDATE outbox SET next_attempt_at = $2 WHERE id = $1", not_due, now + 1'000'000);
  sql("UPDATE outbox SET status = 'sending', attempts = 1, next_attempt_at = $2, locked_until = $3 WHERE id = $1",
      leased, now - 100, now + 1'000'000);

  auto ids = [](const std::vector<notify::ClaimedEmail>& batch) {
    std::vector<std::int64_t> out;
    for (const auto& e : batch) out.push_back(e.id);
    return out;
  };
  // The two earliest by next_attempt_at, one of each kind; then the only other due row.
  EXPECT_EQ(ids(claim(now, now + 60'000'000, 2)), (std::vector<std::int64_t>{pending_early, lease_expired}));
  EXPECT_EQ(ids(claim(now, now + 60'000'000, 10)), std::vector<std::int64_t>{pending_late});
  EXPECT_TRUE(claim(now, now + 60'000'000, 10).empty());
}

TEST_F(OutboxTest, InALongQueueAClaimStillTakesTheEarliestDue) {
  // Written newest-due first, so id order and due order disagree.
  auto now = common::now_micros();
  database_->transaction([&](db::Connection& c) {
    for (int order = 1; order <= 3000; ++order) {
      notify::enqueue_order_confirmation(c, order, "buyer@example.com", contract_context());
      c.query("UPDATE outbox SET next_attempt_at = $2 WHERE order_id = $1", order, now - order);
    }
  });
  auto batch = claim(now, now + 60'000'000, 3);
  ASSERT_EQ(batch.size(), 3u);
  for (const auto& e : batch) EXPECT_GE(row(e.id).order_id.value_or(0), 2998);
}

TEST_F(OutboxTest, ConcurrentClaimsNeverShareARow) {
  for (int order = 1; order <= 40; ++order) enqueue(order);
  std::mutex mutex;
  std::multiset<std::int64_t> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (;;) {
        auto now = common::now_micros();
        auto batch = claim(now, now + 60'000'000, 3);
        if (batch.empty()) return;
        std::lock_guard lock(mutex);
        for (const auto& e : batch) claimed.insert(e.id);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(claimed.size(), 40u);
  EXPECT_EQ(std::set<std::int64_t>(claimed.begin(), claimed.end()).size(), 40u);
}

TEST_F(OutboxTest, TheWorkerSendsDueRowsAndMarksThemSent) {
  FakeMailer mailer;
  auto id = enqueue(42);
  auto w = worker(mailer);
  EXPECT_EQ(w->run_once(), 1);
  ASSERT_EQ(mailer.sent.size(), 1u);
  const auto& email = mailer.sent[0];
  EXPECT_EQ(email.to, "buyer@example.com");
  EXPECT_EQ(email.from, "Shop <shop@example.com>");
  EXPECT_EQ(email.subject, "Your Corner Shop order #42 is confirmed");
  EXPECT_THAT(email.text, HasSubstr("Total: $130.00"));
  EXPECT_EQ(email.message_id, notify::message_id(id, row(id).created_at, "example.com"));
  auto r = row(id);
  EXPECT_EQ(r.status, "sent");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_TRUE(r.sent_at);
  EXPECT_EQ(w->run_once(), 0);
  auto metrics = metrics_.render();
  EXPECT_THAT(metrics, HasSubstr("orderd_emails_sent_total 1\n"));
  EXPECT_THAT(metrics, HasSubstr("orderd_email_queue_depth 0\n"));
  EXPECT_THAT(metrics, HasSubstr("orderd_email_oldest_pending_age_seconds 0\n"));
}

TEST_F(OutboxTest, FailuresAreRetriedWithBackoffThenGivenUp) {
  FakeMailer mailer;
  mailer.fail = true;
  auto id = enqueue(1);
  auto w = worker(mailer, {.max_attempts = 3, .retry_cap = 30s});

  auto before = common::now_micros();
  EXPECT_EQ(w->run_once(), 1);
  auto r = row(id);
  EXPECT_EQ(r.status, "pending");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.last_error, "451 mailbox busy");
  EXPECT_GE(r.next_attempt_at, before + 1'000'000);  // first retry one second later
  EXPECT_LE(r.next_attempt_at, common::now_micros() + 1'000'000);
  EXPECT_EQ(w->run_once(), 0);  // not due yet
  EXPECT_THAT(metrics_.render(), HasSubstr("orderd_email_queue_depth 1\n"));

  sql("UPDATE outbox SET next_attempt_at = 0 WHERE id = $1", id);
  before = common::now_micros();
  EXPECT_EQ(w->run_once(), 1);
  EXPECT_EQ(row(id).attempts, 2);
  EXPECT_GE(row(id).next_attempt_at, before + 2'000'000);  // then two

  sql("UPDATE outbox SET next_attempt_at = 0 WHERE id = $1", id);
  EXPECT_EQ(w->run_once(), 1);
  r = row(id);
  EXPECT_EQ(r.status, "failed");
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.last_error, "451 mailbox busy");
  EXPECT_EQ(w->run_once(), 0);
  auto metrics = metrics_.render();
  EXPECT_THAT(metrics, HasSubstr("orderd_email_send_errors_total 3\n"));
  EXPECT_THAT(metrics, HasSubstr("orderd_emails_failed_total 1\n"));

  // Staff resend: pending again, due now, a fresh budget; then it goes out.
  auto resent = database_->transaction([&](db::Connection& c) { return notify::resend(c, id, common::now_micros()); });
  ASSERT_TRUE(resent);
  EXPECT_EQ(resent->status, "pending");
  EXPECT_EQ(resent->attempts, 0);
  mailer.fail = false;
  EXPECT_EQ(w->run_once(), 1);
  EXPECT_EQ(row(id).status, "sent");
  EXPECT_FALSE(database_->transaction([&](db::Connection& c) { return notify::resend(c, 999, 0); }));
}

TEST_F(OutboxTest, AnUnrenderableRowFailsAtOnce) {
  FakeMailer mailer;
  auto id = enqueue(1, "not json");
  auto w = worker(mailer);
  EXPECT_EQ(w->run_once(), 1);
  EXPECT_TRUE(mailer.sent.empty());
  EXPECT_EQ(row(id).status, "failed");
  EXPECT_THAT(*row(id).last_error, HasSubstr("render"));
}

TEST_F(OutboxTest, TheThreadSendsOnWakeAndStopsPromptly) {
  FakeMailer mailer;
  auto w = worker(mailer, {.poll_interval = 60s});
  w->start();
  auto id = enqueue(5);
  w->wake();
  for (int i = 0; i < 250 && row(id).status != "sent"; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(row(id).status, "sent");
  auto started = std::chrono::steady_clock::now();
  w->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST_F(OutboxTest, StaffListsRowsNewestFirstByStatus) {
  FakeMailer mailer;
  enqueue(1);
  auto w = worker(mailer);
  w->run_once();
  enqueue(2);
  enqueue(3);
  auto [pending, all, sent] = database_->read([](db::Connection& c) {
    return std::tuple(notify::count_emails(c, "pending"), notify::list_emails(c, std::nullopt, 10, 0),
                      notify::list_emails(c, "sent", 10, 0));
  });
  EXPECT_EQ(pending, 2);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].order_id, 3);
  ASSERT_EQ(sent.size(), 1u);
  auto json = notify::to_json(sent[0]);
  for (const char* key : {"id", "kind", "order_id", "recipient", "status", "attempts", "last_error", "created_at",
                          "sent_at", "next_attempt_at"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  EXPECT_TRUE(json["sent_at"].is_string());
  EXPECT_TRUE(json["last_error"].is_null());
}

TEST_F(OutboxTest, SeveralEmailsOfAKindForOneOrderEachOnce) {
  auto rows = [&] { return sql("SELECT COUNT(*) FROM outbox WHERE order_id = 7")[0].integer(0); };
  auto queue = [&](std::string_view kind, std::int64_t ref) {
    auto before = rows();
    database_->transaction([&](db::Connection& c) {
      notify::enqueue(c, kind, 7, ref, "buyer@example.com", contract_context());
    });
    return rows() > before;  // whether it was written
  };
  EXPECT_TRUE(queue(notify::kOrderShipped, 1));
  EXPECT_TRUE(queue(notify::kOrderShipped, 2));
  EXPECT_NE(queued(notify::kOrderShipped, 7, 1), queued(notify::kOrderShipped, 7, 2));
  EXPECT_FALSE(queue(notify::kOrderShipped, 2));  // the same shipment again: ignored
  EXPECT_TRUE(queue(notify::kRefundIssued, 1));   // another kind, the same ref
  EXPECT_TRUE(queue(notify::kOrderConfirmation, 0));
  EXPECT_FALSE(queue(notify::kOrderConfirmation, 0));
  EXPECT_EQ(rows(), 4);
  auto latest = database_->read([](db::Connection& c) { return notify::find_for_order(c, "order_shipped", 7); });
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->kind, "order_shipped");
}

// Migration 010 rebuilds SQLite's outbox (a UNIQUE constraint cannot be dropped): every row keeps its
// id and its state, and the new key holds.
TEST(OutboxMigration, TheRebuildKeepsEveryRowAndItsId) {
  auto dir = fresh_dir("migration");
  auto database = db::open("sqlite://" + (dir / "old.db").string());
  const auto& all = db::embedded_migrations(database->dialect());
  std::vector<db::Migration> before(all.begin(), all.end());
  std::erase_if(before, [](const db::Migration& m) { return m.version >= 10; });
  ASSERT_LT(before.size(), all.size());
  db::migrate(*database, before);
  auto sql = [&](std::string_view text) {
    return database->transaction([&](db::Connection& c) { return c.query(text); });
  };
  sql("INSERT INTO outbox (id, kind, order_id, recipient, payload, status, attempts, next_attempt_at, created_at,"
      " sent_at, last_error) VALUES (5, 'order_confirmation', 1, 'a@example.com', '{}', 'sent', 2, 10, 9, 11, 'x'),"
      " (9, 'order_confirmation', 2, 'b@example.com', '{\"order_id\": 2}', 'pending', 0, 20, 19, NULL, NULL)");
  db::migrate(*database);
  auto rows = sql("SELECT id, kind, order_id, ref, recipient, payload, status, attempts, next_attempt_at,"
                  " created_at, sent_at, last_error FROM outbox ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].integer(0), 5);
  EXPECT_EQ(rows[0].integer(3), 0);
  EXPECT_EQ(rows[0].text(6), "sent");
  EXPECT_EQ(rows[0].integer(7), 2);
  EXPECT_EQ(rows[0].integer(10), 11);
  EXPECT_EQ(*rows[0].optional_text(11), "x");
  EXPECT_EQ(rows[1].integer(0), 9);
  EXPECT_EQ(rows[1].text(5), "{\"order_id\": 2}");
  database->transaction([](db::Connection& c) {
    notify::enqueue_order_confirmation(c, 2, "b@example.com", {});           // already queued: ignored
    notify::enqueue(c, notify::kOrderShipped, 2, 1, "b@example.com", {});  // new
  });
  auto order_2 = sql("SELECT id, kind, payload FROM outbox WHERE order_id = 2 ORDER BY id");
  ASSERT_EQ(order_2.size(), 2u);
  EXPECT_EQ(order_2[0].integer(0), 9);
  EXPECT_EQ(order_2[0].text(2), "{\"order_id\": 2}");
  EXPECT_EQ(order_2[1].text(1), "order_shipped");
  EXPECT_GT(order_2[1].integer(0), 9);
  EXPECT_EQ(sql("SELECT COUNT(*) FROM sqlite_master WHERE name = 'outbox_due'")[0].integer(0), 1);
  database.reset();
  fs::remove_all(dir);
}

}  // namespace

// mail_keep's purge (app's sweep): the oldest finished emails first, a batch at a time, through the
// index of finished rows (migration 019); waiting emails and newer ones are kept, as are the figures
// of the admin list's status filter.
TEST_F(OutboxTest, ThePurgeForgetsTheOldestFinishedEmailsABatchAtATimeAndKeepsTheRest) {
  std::vector<std::int64_t> ids;
  for (std::int64_t order = 1; order <= 6; ++order) ids.push_back(enqueue(order));
  const char* statuses[] = {"sent", "failed", "pending", "sent", "sent", "sent"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    // created_at runs against the ids, so "oldest first" is not "lowest id first".
    sql("UPDATE outbox SET status = $2, created_at = $3 WHERE id = $1", ids[i], std::string(statuses[i]),
        static_cast<std::int64_t>(100 - i));
  }
  auto purge = [&](std::int64_t before, std::int64_t limit) {
    return database_->transaction([&](db::Connection& c) { return notify::purge_finished(c, before, limit); });
  };
  EXPECT_EQ(purge(98, 2), 2);  // of the finished before 98 (ids[3], ids[4], ids[5]), the two oldest
  auto left = [&] {
    std::vector<std::int64_t> out;
    auto r = sql("SELECT id FROM outbox ORDER BY id");
    for (std::size_t i = 0; i < r.size(); ++i) out.push_back(r[i].integer(0));
    return out;
  };
  EXPECT_EQ(left(), (std::vector<std::int64_t>{ids[0], ids[1], ids[2], ids[3]}));
  EXPECT_EQ(purge(1000, 500), 3);  // every finished one; the pending one stays
  EXPECT_EQ(left(), (std::vector<std::int64_t>{ids[2]}));
  database_->read([&](db::Connection& c) {
    EXPECT_EQ(notify::count_emails(c, std::string("pending")), 1);
    EXPECT_EQ(notify::count_emails(c, std::string("sent")), 0);
    EXPECT_EQ(notify::count_emails(c, std::nullopt), 1);
    EXPECT_EQ(notify::list_emails(c, std::string("pending"), 10, 0).size(), 1u);
    EXPECT_TRUE(notify::list_emails(c, std::string("failed"), 10, 0).empty());
  });
}
