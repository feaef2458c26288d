#include "common/error.hpp"
#include "http/form.hpp"
#include "http/router.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

namespace {

std::string code_of(std::string_view content_type, std::string_view body) {
  try {
    http::parse_form(content_type, body);
  } catch (const common::Error& e) {
    return e.code();
  }
  return "read";
}

}  // namespace

TEST(Form, TellsTheTwoFormTypesFromOthers) {
  EXPECT_TRUE(http::is_form_content_type("application/x-www-form-urlencoded"));
  EXPECT_TRUE(http::is_form_content_type("Application/X-WWW-Form-Urlencoded ; charset=UTF-8"));
  EXPECT_TRUE(http::is_form_content_type("multipart/form-data; boundary=x"));
  EXPECT_FALSE(http::is_form_content_type("application/json"));
  EXPECT_FALSE(http::is_form_content_type("multipart/mixed; boundary=x"));
  EXPECT_FALSE(http::is_form_content_type(""));
}

TEST(Form, ReadsUrlencodedAsBrowsersWriteIt) {
  auto fields = http::parse_form("application/x-www-form-urlencoded",
                                 "a=1+2%2B3&&b=caf%C3%A9&a=last&c&d=&e=100%zz&%3D=%26");
  EXPECT_EQ(fields, boost::json::parse(R"({"a":"last","b":"café","c":"","d":"","e":"100%zz","=":"&"})").as_object());
  EXPECT_TRUE(http::parse_form("application/x-www-form-urlencoded", "").empty());
}

TEST(Form, ReadsMultipartTextFieldsAndSkipsEmptyFileInputs) {
  auto fields = http::parse_form(
      "multipart/form-data; charset=\"utf;8\"; BOUNDARY=\"b:q\"",
      "ignored\r\n--b:q\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\none\r\ntwo\r\n"
      "--b:q \t\r\nCONTENT-DISPOSITION: form-data; filename=\"\"; name=\"file\"\r\n\r\n\r\n"
      "--b:q\r\nContent-Type: text/plain\r\n\r\nno name, skipped\r\n"
      "--b:q\r\nContent-Disposition: form-data; name=\"q\\\"uoted\"\r\n\r\n\r\n--b:q--\r\nafter");
  EXPECT_EQ(fields, boost::json::parse(R"({"x":"one\r\ntwo","q\"uoted":""})").as_object());
}

TEST(Form, RefusesWhatIsNotAFormOrNotText) {
  const std::string mp = "multipart/form-data; boundary=x";
  EXPECT_EQ(code_of("multipart/form-data", "--x\r\n\r\n\r\n--x--"), "bad_request");
  EXPECT_EQ(code_of(mp, "a=b"), "bad_request");
  EXPECT_EQ(code_of(mp, "--x"), "bad_request");
  EXPECT_EQ(code_of(mp, "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb"), "bad_request");
  EXPECT_EQ(code_of(mp, "--x\r\nContent-Disposition: form-data; name=\"a\""), "bad_request");
  EXPECT_EQ(code_of(mp, "--x\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a\"\r\n\r\nb\r\n--x--"),
            "validation_error");
  EXPECT_EQ(code_of(mp, "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\xff\r\n--x--"), "validation_error");
  EXPECT_EQ(code_of("application/x-www-form-urlencoded", "a=%00"), "validation_error");
  EXPECT_EQ(code_of("application/x-www-form-urlencoded", "%C3=1"), "bad_request");
  std::string many;
  for (int i = 0; i < 1001; ++i) many += "f" + std::to_string(i) + "=&";
  EXPECT_EQ(code_of("application/x-www-form-urlencoded", many), "bad_request");
  EXPECT_EQ(code_of("application/x-www-form-urlencoded", many.substr(0, many.rfind("f1000"))), "read");
}

TEST(Form, OnlyRoutesThatTakeFormsReadThem) {
  http::Router r;
  auto echo = [](http::Request& q) { return http::json_response(200, q.json); };
  r.add(http::post("/old/", http::Access::anyone, echo).json_or_form());
  r.add(http::post("/new/", http::Access::anyone, echo).json());
  http::Params params;
  http::Request form;
  form.method = http::Method::post;
  form.content_type = "application/x-www-form-urlencoded";
  form.body = "quantity=2";
  auto old_route = r.match(http::Method::post, "/old/", params).route;
  EXPECT_EQ(r.execute(*old_route, form).body, R"({"quantity":"2"})");
  auto new_route = r.match(http::Method::post, "/new/", params).route;
  EXPECT_EQ(r.execute(*new_route, form).status, 415);
  form.content_type = "application/json";
  form.body = R"({"quantity":2})";
  EXPECT_EQ(r.execute(*old_route, form).body, R"({"quantity":2})");
}
