#include "notify/templates.hpp"

#include "notify/outbox.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <kainjow/mustache.hpp>

#include <algorithm>
#include <array>
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
  // A header cannot span lines; a template's line breaks become single spaces, and so does every other
  // ASCII control character (a product name may hold a vertical tab or a form feed: RFC 5322's header
  // text is printable characters and spaces only).
  std::string out;
  bool space = false;
  for (char c : s) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Fields whose value is money ("130.00"): each gets a `_display` twin in the shop's currency.
constexpr std::array<std::string_view, 6> kMoneyFields = {"total_amount", "amount", "refunded_total",
                                                          "refund_amount", "price", "totalprice"};

bool is_time_field(std::string_view name) { return name.ends_with("_at"); }

std::string money_for_people(std::string_view raw, const common::Currency& currency) {
  if (auto amount = common::Money::parse(raw)) return currency.format(*amount);
  return std::string(raw);  // "" (nothing refunded) or a hand-written value: shown as it is
}

// Adds the `_display` twins to one object and to the objects of its lists, recursively. A value that
// is not a money or a time text is left to the raw field only.
void add_display_forms(boost::json::object& o, const common::Currency& currency) {
  std::vector<std::pair<std::string, std::string>> added;
  for (auto& [key, value] : o) {
    if (value.is_array()) {
      for (auto& item : value.get_array()) {
        if (item.is_object()) add_display_forms(item.get_object(), currency);
      }
      continue;
    }
    if (!value.is_string()) continue;
    std::string_view raw = value.get_string();
    std::string name(key);
    if (std::find(kMoneyFields.begin(), kMoneyFields.end(), key) != kMoneyFields.end()) {
      added.emplace_back(name + "_display", money_for_people(raw, currency));
    } else if (is_time_field(key)) {
      added.emplace_back(name + "_display", common::format_for_people(raw).value_or(std::string(raw)));
    }
  }
  for (auto& [key, text] : added) o[key] = text;
}

// A string field of the context, or "" when it is missing or not a string.
std::string_view text_of(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string_view(it->value().get_string()) : "";
}

// The flags order_cancelled's four wordings choose by: Mustache tests truth, not equality. A staff
// cancel of a paid order carries what it refunds ("0.00" when earlier refunds had given it all back);
// an unpaid order's carries "".
void add_cancel_flags(boost::json::object& o) {
  auto text = [&](std::string_view key) { return text_of(o, key); };
  auto refund = text("refund_amount");
  bool paid = !refund.empty();
  bool refunding = paid && common::Money::parse(refund).value_or(common::Money{}).minor() > 0;
  o["cancelled_by_customer"] = text("cancelled_by") == "customer";
  o["cancelled_by_staff"] = text("cancelled_by") == "staff";
  o["refunded"] = refunding;  // the name predates the wording: the refund is on its way, not made yet
  o["refunded_earlier"] = paid && !refunding;
}

// order_shipped's flags: kainjow's Mustache counts an empty string as true, so a shipment sent
// without a tracking number or link would print an empty line and a dead "Track your parcel".
void add_shipped_flags(boost::json::object& o) {
  o["has_tracking_number"] = !text_of(o, "tracking_number").empty();
  o["has_tracking_url"] = !text_of(o, "tracking_url").empty();
}

std::string file_name(std::string_view kind, std::string_view part) {
  return std::string(kind) + "." + std::string(part) + ".mustache";
}

// The names a context offers, for the message about an unknown one: "a, b, items with c, d".
std::string known_names(const boost::json::object& context) {
  std::vector<std::string> plain, lists;
  for (const auto& [key, value] : context) {
    if (!value.is_array()) {
      plain.emplace_back(key);
      continue;
    }
    std::set<std::string> inner;
    for (const auto& item : value.get_array()) {
      if (item.is_object()) {
        for (const auto& field : item.get_object()) inner.insert(std::string(field.key()));
      }
    }
    std::string list = std::string(key) + " with";
    for (const auto& name : inner) list += " " + name + (name == *inner.rbegin() ? "" : ",");
    lists.push_back(list);
  }
  std::sort(plain.begin(), plain.end());
  std::string out;
  for (const auto& name : plain) out += (out.empty() ? "" : ", ") + name;
  for (const auto& list : lists) out += "; " + list;
  return out;
}

// A copy of `context` whose lists are empty, so that {{^items}} bodies are looked at too.
boost::json::object with_empty_lists(boost::json::object context) {
  for (auto& [key, value] : context) {
    if (value.is_array()) value = boost::json::array{};
  }
  return context;
}

}  // namespace

std::string Templates::render_one(const Source& t, const boost::json::object& context) {
  mustache::mustache tmpl(t.text);
  if (!tmpl.is_valid()) throw TemplateError(t.source + ": " + tmpl.error_message());
  if (!t.html_escape) tmpl.set_custom_escape([](const std::string& s) { return s; });
  auto data = to_data(context);
  std::string out = tmpl.render(data);
  if (!tmpl.is_valid()) throw TemplateError(t.source + ": " + tmpl.error_message());
  return out;
}

boost::json::object Templates::for_people(std::string_view kind, const boost::json::object& context) const {
  auto full = context;
  full["shop_name"] = shop_name_;
  full["currency"] = std::string(currency_->code);
  add_display_forms(full, *currency_);
  if (kind == kOrderCancelled) add_cancel_flags(full);
  if (kind == kOrderShipped) add_shipped_flags(full);
  return full;
}

// Renders every sample of the kind, with its lists and with them empty, through a context that records
// the names it cannot resolve: kainjow renders those as nothing, which would hide a misspelt
// {{totl_amount}} until a customer saw the gap.
void Templates::check(const Source& t, std::string_view kind) const {
  mustache::mustache tmpl(t.text);
  if (!tmpl.is_valid()) throw TemplateError(t.source + ": " + tmpl.error_message());
  std::set<std::string> unknown;
  std::string known;
  for (const auto& sample : sample_contexts(kind)) {
    auto with_lists = for_people(kind, sample.context);
    known = known_names(with_lists);
    for (const auto& context : {with_lists, for_people(kind, with_empty_lists(sample.context))}) {
      auto data = to_data(context);
      RecordingContext recorder(&data);
      mustache::mustache copy(t.text);
      copy.render(recorder);
      if (!copy.is_valid()) throw TemplateError(t.source + ": " + copy.error_message());
      unknown.insert(recorder.unknown().begin(), recorder.unknown().end());
    }
  }
  if (unknown.empty()) return;
  std::string names;
  for (const auto& name : unknown) names += (names.empty() ? "" : ", ") + std::string("{{") + name + "}}";
  throw TemplateError(t.source + ": unknown variable " + names + " (known: " + known + ")");
}

void Templates::check(const Set& set) const {
  for (const auto* s : {&set.subject, &set.html, &set.text}) check(*s, set.kind);
  for (const auto& sample : sample_contexts(set.kind)) {
    if (collapse_to_one_line(render_one(set.subject, for_people(set.kind, sample.context))).empty()) {
      throw TemplateError(set.subject.source + ": renders an empty subject");
    }
  }
}

Templates::Source Templates::read_source(const std::string& template_dir, const std::string& file,
                                         bool html_escape) {
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
    s.source = "built-in " + file;
    s.text = std::string(builtin_template(file));
    if (s.text.empty()) throw TemplateError(s.source + ": missing from this build");
  }
  return s;
}

Templates::Set Templates::load_set(const std::string& template_dir, std::string_view kind) {
  return Set{std::string(kind), read_source(template_dir, file_name(kind, "subject"), false),
             read_source(template_dir, file_name(kind, "html"), true),
             read_source(template_dir, file_name(kind, "txt"), false)};
}

Templates Templates::load(const std::string& template_dir, std::string shop_name) {
  return load(template_dir, std::move(shop_name), *common::Currency::find("USD"));
}

Templates Templates::load(const std::string& template_dir, std::string shop_name, const common::Currency& currency) {
  Templates t;
  t.shop_name_ = std::move(shop_name);
  t.currency_ = &currency;
  for (auto kind : kEmailKinds) t.sets_.push_back(load_set(template_dir, kind));
  for (const auto& set : t.sets_) t.check(set);
  return t;
}

std::string Templates::describe() const {
  std::string own;
  for (const auto& set : sets_) {
    for (const auto* s : {&set.subject, &set.html, &set.text}) {
      if (!s->source.starts_with("built-in ")) own += (own.empty() ? "" : ", ") + s->source;
    }
  }
  return own.empty() ? "built-in" : own + "; the others built-in";
}

const Templates::Set& Templates::set_of(std::string_view kind) const {
  for (const auto& set : sets_) {
    if (set.kind == kind) return set;
  }
  throw TemplateError("no template for email kind '" + std::string(kind) + "'");
}

RenderedEmail Templates::render(std::string_view kind, const boost::json::object& context) const {
  const auto& set = set_of(kind);
  auto full = for_people(kind, context);
  return {collapse_to_one_line(render_one(set.subject, full)), render_one(set.html, full), render_one(set.text, full)};
}

RenderedEmail Templates::render(const boost::json::object& context) const { return render(kOrderConfirmation, context); }

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
  boost::json::object context;
  try {
    context = boost::json::parse(payload).as_object();
  } catch (const std::exception& e) {
    throw TemplateError(std::string("stored context is not a JSON object: ") + e.what());
  }
  unseal(templates, context, sealed);
  return templates.render(kind, context);
}

}  // namespace notify
