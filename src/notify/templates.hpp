#pragma once
// The emails' Mustache templates (kainjow mustache): for each kind of email (outbox.hpp's kEmailKinds)
// a subject, an HTML body and a plain-text body, `<kind>.subject.mustache`, `<kind>.html.mustache` and
// `<kind>.txt.mustache`. Each file is read from the configured template directory when it exists
// there, else the built-in default compiled from templates/email/. Templates are checked when loaded,
// so a broken one stops start-up instead of the first email of its kind.
//
// Contexts hold raw values (money "130.00", times RFC 3339: docs/contract.md, "Emails"). The renderer
// adds, and never replaces, what people read: `shop_name`, `currency` ("USD"), and beside every money
// field (total_amount, amount, refunded_total, refund_amount, price, totalprice) and every time field
// (a name ending in `_at`) the same name with `_display`: "$130.00" by the `currency` setting, "4 May
// 2024, 12:00 UTC". Old templates that use the raw names keep rendering exactly what they did.
// order_cancelled also gets the flags its wordings need: cancelled_by_customer, cancelled_by_staff,
// refunded (something was refunded); order_shipped gets has_tracking_number and has_tracking_url.

#include "common/currency.hpp"
#include "notify/sealed.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace notify {

// A template that does not parse, fails to render or names a variable outside the contract's
// context. The message starts with the file it came from.
class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RenderedEmail {
  std::string subject;  // one line: line breaks in the rendered subject become spaces
  std::string html;
  std::string text;
};

// One sample context of a kind, for checks and previews; kinds whose wording depends on the context
// (order_cancelled) have several, each named.
struct SampleContext {
  std::string name;  // "customer", "staff", "refunded"; "default" for kinds with one
  boost::json::object context;
};

class Templates {
 public:
  // The confirmation's files (the first kind; the others follow the same pattern).
  static constexpr std::string_view kSubjectFile = "order_confirmation.subject.mustache";
  static constexpr std::string_view kHtmlFile = "order_confirmation.html.mustache";
  static constexpr std::string_view kTextFile = "order_confirmation.txt.mustache";

  // Loads and checks every kind's three templates; `template_dir` may be empty (built-in defaults
  // only). Throws TemplateError naming the file. Money is shown in `currency` (USD when not given).
  static Templates load(const std::string& template_dir, std::string shop_name);
  static Templates load(const std::string& template_dir, std::string shop_name, const common::Currency& currency);

  // Renders a context of `kind` (raw values, as queued) with what the renderer adds (see above). HTML
  // values are HTML-escaped; subject and text are not. Throws TemplateError (also for an unknown kind).
  RenderedEmail render(std::string_view kind, const boost::json::object& context) const;
  // The confirmation: render(kOrderConfirmation, context).
  RenderedEmail render(const boost::json::object& context) const;

  // The confirmation's sample context, as the contract describes it.
  static boost::json::object sample_context();
  // Every sample context of `kind` (empty for an unknown kind).
  static std::vector<SampleContext> sample_contexts(std::string_view kind);

  // What opens the sealed links of account emails (the app sets it from its secret before the worker
  // starts); without one they cannot be sent.
  void set_sealer(std::shared_ptr<const Sealer> sealer) { sealer_ = std::move(sealer); }
  const Sealer* sealer() const { return sealer_.get(); }

  // Where the confirmation's templates came from: a path, or "built-in NAME".
  const std::string& subject_source() const { return sets_.front().subject.source; }
  const std::string& html_source() const { return sets_.front().html.source; }
  const std::string& text_source() const { return sets_.front().text.source; }
  // One line for the start-up log: which files came from the template directory.
  std::string describe() const;

  const common::Currency& currency() const { return *currency_; }

 private:
  struct Source {
    std::string source;  // for messages: the file's path or "built-in NAME"
    std::string text;
    bool html_escape = false;
  };
  struct Set {
    std::string kind;
    Source subject, html, text;
  };
  Templates() = default;
  static Source read_source(const std::string& template_dir, const std::string& file, bool html_escape);
  static Set load_set(const std::string& template_dir, std::string_view kind);
  void check(const Set& set) const;
  void check(const Source& t, std::string_view kind) const;
  const Set& set_of(std::string_view kind) const;
  // The context as templates see it: the queued one plus what the renderer adds.
  boost::json::object for_people(std::string_view kind, const boost::json::object& context) const;
  static std::string render_one(const Source& t, const boost::json::object& context);

  std::vector<Set> sets_;  // in kEmailKinds' order; the confirmation first
  std::shared_ptr<const Sealer> sealer_;
  std::string shop_name_;
  const common::Currency* currency_ = nullptr;
};

// Whether render_stored opens sealed fields (the worker, sending) or shows kHiddenInPreview in their
// place (staff's preview, `orderd email preview`).
enum class SealedFields { open, hidden };

// Renders a stored outbox row (its kind and JSON context) with `templates`: what the worker sends and
// what staff preview. Throws TemplateError when it cannot be rendered (a kind without templates, a
// context that is not a JSON object, a template that fails), which no retry would fix.
RenderedEmail render_stored(const Templates& templates, std::string_view kind, const std::string& payload,
                            SealedFields sealed = SealedFields::open);

// The built-in template of that file name (compiled into the binary), or empty when there is none.
std::string_view builtin_template(std::string_view file_name);

}  // namespace notify
