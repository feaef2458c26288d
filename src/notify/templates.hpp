#pragma once
// The confirmation email's Mustache templates (kainjow mustache): a subject, an HTML body and a
// plain-text body. Each is read from the configured template directory when the file exists there,
// else the built-in default compiled from templates/email/. Templates are checked when loaded, so a
// broken one stops start-up instead of the first paid order.

#include "notify/sealed.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

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

class Templates {
 public:
  static constexpr std::string_view kSubjectFile = "order_confirmation.subject.mustache";
  static constexpr std::string_view kHtmlFile = "order_confirmation.html.mustache";
  static constexpr std::string_view kTextFile = "order_confirmation.txt.mustache";

  // Loads and checks the three templates; `template_dir` may be empty (built-in defaults only).
  // Throws TemplateError naming the file.
  static Templates load(const std::string& template_dir, std::string shop_name);

  // Renders the contract's context (order_id, created_at, customer, email, total_amount, items) plus
  // shop_name. HTML values are HTML-escaped; subject and text are not. Throws TemplateError.
  RenderedEmail render(const boost::json::object& context) const;

  // A complete context as the contract describes it, for checks and previews.
  static boost::json::object sample_context();

  // The account emails (notify/account_emails.hpp): `<kind>.subject|html|txt.mustache`, loaded and
  // checked by load() like the confirmation's, against that kind's sample context.
  RenderedEmail render_account(std::string_view kind, const boost::json::object& context) const;
  // What opens the sealed links of account emails (the app sets it from its secret before the worker
  // starts); without one they cannot be sent.
  void set_sealer(std::shared_ptr<const Sealer> sealer) { sealer_ = std::move(sealer); }
  const Sealer* sealer() const { return sealer_.get(); }

  // Where each template came from: a path, or "built-in NAME".
  const std::string& subject_source() const { return subject_.source; }
  const std::string& html_source() const { return html_.source; }
  const std::string& text_source() const { return text_.source; }

 private:
  struct Source {
    std::string source;  // for messages: the file's path or "built-in NAME"
    std::string text;
    bool html_escape = false;
  };
  struct Set {
    Source subject, html, text;
  };
  Templates() = default;
  static std::string render_one(const Source& t, const boost::json::object& context);
  static void check(const Source& t, const boost::json::object& sample, std::string_view known_names);
  void load_account_emails(const std::function<Source(std::string_view, bool)>& source);

  Source subject_, html_, text_;
  std::map<std::string, Set, std::less<>> accounts_;
  std::shared_ptr<const Sealer> sealer_;
  std::string shop_name_;
};

// Whether render_stored opens sealed fields (the worker, sending) or shows kHiddenInPreview in their
// place (staff's preview).
enum class SealedFields { open, hidden };

// Renders a stored outbox row (its kind and JSON context) with `templates`: what the worker sends and
// what staff preview. Throws TemplateError when it cannot be rendered (a kind without templates, a
// context that is not a JSON object, a template that fails), which no retry would fix.
RenderedEmail render_stored(const Templates& templates, std::string_view kind, const std::string& payload,
                            SealedFields sealed = SealedFields::open);

// The built-in template of that file name (compiled into the binary), or empty when there is none.
std::string_view builtin_template(std::string_view file_name);

}  // namespace notify
