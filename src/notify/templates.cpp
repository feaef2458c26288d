#include "notify/templates.hpp"

#include "notify/account_emails.hpp"
#include "notify/outbox.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <kainjow/mustache.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace notify {
namespace {

namespace mustache = kainjow::mustache;

mustache::data to_data(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      mustache::data out{mustache::data::type::object};
      for (const auto& [key, value] : v.get_object()) out.set(std::string(key), to_data(value));
      return out;
    }
    case boost::json::kind::array: {
      mustache::data out{mustache::data::type::list};
      for (const auto& item : v.get_array()) out.push_back(to_data(item));
      return out;
    }
    case boost::json::kind::string: return mustache::data(std::string(v.get_string()));
    case boost::json::kind::int64: return mustache::data(std::to_string(v.get_int64()));
    case boost::json::kind::uint64: return mustache::data(std::to_string(v.get_uint64()));
    case boost::json::kind::bool_: return mustache::data(v.get_bool());
    // Money is a two-place string in the context; a double would be a caller's mistake, but render
    // it rather than drop it.
    case boost::json::kind::double_: return mustache::data(boost::json::serialize(v));
    case boost::json::kind::null: break;
  }
  return mustache::data(false);  // null: false, so {{#x}} sections skip it
}

// kainjow renders a name it cannot resolve as nothing. This context resolves names exactly as the
// library's own does and records every miss, so a misspelt {{totl_amount}} is caught at load time.
class RecordingContext final : public mustache::basic_context<std::string> {
 public:
  explicit RecordingContext(const mustache::data* root) : inner_(root) {}
  void push(const mustache::data* d) override { inner_.push(d); }
  void pop() override { inner_.pop(); }
  const mustache::data* get(const std::string& name) const override {
    const auto* found = inner_.get(name);
    if (found == nullptr) unknown_.insert(name);
    return found;
  }
  const mustache::data* get_partial(const std::string& name) const override {
    unknown_.insert("> " + name);  // the context holds no partials
    return nullptr;
  }
  const std::set<std::string>& unknown() const { return unknown_; }

 private:
  mustache::context<std::string> inner_;
  mutable std::set<std::string> unknown_;
};

std::string collapse_to_one_line(std::string s) {
  // A header cannot span lines; a template's line breaks become single spaces.
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

boost::json::object Templates::sample_context() {
  return {{"order_id", 42},
          {"created_at", "2024-05-04T12:00:00.123456Z"},
          {"customer", "example_user"},
          {"email", "customer@example.com"},
          {"total_amount", "130.00"},
          {"shop_name", "Sample & Co"},
          {"items",
           boost::json::array{
               boost::json::object{{"product", "Product A"}, {"price", "50.00"}, {"quantity", 2}, {"totalprice", "100.00"}},
               boost::json::object{{"product", "Product B"}, {"price", "30.00"}, {"quantity", 1}, {"totalprice", "30.00"}},
           }}};
}

std::string Templates::render_one(const Source& t, const boost::json::object& context) {
  mustache::mustache tmpl(t.text);
  if (!tmpl.is_valid()) throw TemplateError(t.source + ": " + tmpl.error_message());
  if (!t.html_escape) tmpl.set_custom_escape([](const std::string& s) { return s; });
  auto data = to_data(context);
  std::string out = tmpl.render(data);
  if (!tmpl.is_valid()) throw TemplateError(t.source + ": " + tmpl.error_message());
  return out;
}

// The names the confirmation's context offers, for a template error's message.
constexpr std::string_view kConfirmationNames =
    "order_id, created_at, customer, email, total_amount, shop_name, items with product, price, quantity, totalprice";

void Templates::check(const Source& t, const boost::json::object& sample, std::string_view known_names) {
  mustache::mustache tmpl(t.text);
  if (!tmpl.is_valid()) throw TemplateError(t.source + ": " + tmpl.error_message());
  // Two renders: one with items, one without, so names inside {{#items}} and inside {{^items}}
  // (shown for an empty list) are both looked up.
  auto with_items = sample;
  auto without_items = with_items;
  without_items["items"] = boost::json::array{};
  std::set<std::string> unknown;
  for (const auto* context : {&with_items, &without_items}) {
    auto data = to_data(*context);
    RecordingContext recorder(&data);
    mustache::mustache copy(t.text);
    copy.render(recorder);
    if (!copy.is_valid()) throw TemplateError(t.source + ": " + copy.error_message());
    unknown.insert(recorder.unknown().begin(), recorder.unknown().end());
  }
  if (!unknown.empty()) {
    std::string names;
    for (const auto& name : unknown) names += (names.empty() ? "" : ", ") + std::string("{{") + name + "}}";
    throw TemplateError(t.source + ": unknown variable " + names + " (known: " + std::string(known_names) + ")");
  }
}

Templates Templates::load(const std::string& template_dir, std::string shop_name) {
  auto source = [&](std::string_view file, bool html_escape) {
    Source s;
    s.html_escape = html_escape;
    std::filesystem::path path = std::filesystem::path(template_dir.empty() ? "." : template_dir) / file;
    std::error_code ec;
    if (!template_dir.empty() && std::filesystem::is_regular_file(path, ec)) {
      std::ifstream in(path, std::ios::binary);
      std::ostringstream content;
      content << in.rdbuf();
      if (!in) throw TemplateError(path.string() + ": cannot be read");
      s.source = path.string();
      s.text = content.str();
    } else {
      s.source = "built-in " + std::string(file);
      s.text = std::string(builtin_template(file));
      if (s.text.empty()) throw TemplateError(s.source + ": missing from this build");
    }
    return s;
  };
  Templates t;
  t.subject_ = source(kSubjectFile, false);
  t.html_ = source(kHtmlFile, true);
  t.text_ = source(kTextFile, false);
  t.shop_name_ = std::move(shop_name);
  for (const auto* s : {&t.subject_, &t.html_, &t.text_}) check(*s, sample_context(), kConfirmationNames);
  if (collapse_to_one_line(render_one(t.subject_, sample_context())).empty()) {
    throw TemplateError(t.subject_.source + ": renders an empty subject");
  }
  t.load_account_emails(source);
  return t;
}

void Templates::load_account_emails(const std::function<Source(std::string_view, bool)>& source) {
  for (auto kind : kAccountEmailKinds) {
    auto name = std::string(kind);
    Set set{source(name + ".subject.mustache", false), source(name + ".html.mustache", true),
            source(name + ".txt.mustache", false)};
    auto sample = account_sample_context(kind);
    for (const auto* s : {&set.subject, &set.html, &set.text}) check(*s, sample, account_context_names(kind));
    if (collapse_to_one_line(render_one(set.subject, sample)).empty()) {
      throw TemplateError(set.subject.source + ": renders an empty subject");
    }
    accounts_.emplace(std::move(name), std::move(set));
  }
}

RenderedEmail Templates::render_account(std::string_view kind, const boost::json::object& context) const {
  auto set = accounts_.find(kind);
  if (set == accounts_.end()) throw TemplateError("no template for email kind '" + std::string(kind) + "'");
  auto full = context;
  full["shop_name"] = shop_name_;
  const auto& t = set->second;
  return {collapse_to_one_line(render_one(t.subject, full)), render_one(t.html, full), render_one(t.text, full)};
}

RenderedEmail Templates::render(const boost::json::object& context) const {
  auto full = context;
  full["shop_name"] = shop_name_;
  return {collapse_to_one_line(render_one(subject_, full)), render_one(html_, full), render_one(text_, full)};
}

namespace {

// Puts an account email's sealed fields into its context: opened to send, a placeholder to preview.
void unseal(const Templates& templates, boost::json::object& context, SealedFields mode) {
  const auto* sealed = context.if_contains(kSealedKey);
  if (sealed == nullptr) return;
  if (!sealed->is_string() || templates.sealer() == nullptr) throw TemplateError("sealed fields cannot be opened");
  boost::json::object fields;
  try {
    fields = templates.sealer()->open(sealed->get_string());
  } catch (const std::exception& e) {
    throw TemplateError(e.what());
  }
  for (auto& [name, value] : fields) {
    context[name] = mode == SealedFields::open ? value : boost::json::value(kHiddenInPreview);
  }
  context.erase(kSealedKey);
}

}  // namespace

RenderedEmail render_stored(const Templates& templates, std::string_view kind, const std::string& payload,
                            SealedFields sealed) {
  if (kind != kOrderConfirmation && !is_account_email(kind)) {
    throw TemplateError("no template for email kind '" + std::string(kind) + "'");
  }
  boost::json::object context;
  try {
    context = boost::json::parse(payload).as_object();
  } catch (const std::exception& e) {
    throw TemplateError(std::string("stored context is not a JSON object: ") + e.what());
  }
  if (kind == kOrderConfirmation) return templates.render(context);
  unseal(templates, context, sealed);
  return templates.render_account(kind, context);
}

}  // namespace notify
