// The exports' CSV (http/csv.*, issue #22): RFC 4180 quoting, the formula guard, and a streamed body
// made of pages.

#include "http/csv.hpp"

#include <gtest/gtest.h>

TEST(Csv, QuotesOnlyWhatRfc4180Needs) {
  std::string out;
  http::csv::append_record(out, {"plain", "a,b", "say \"hi\"", "two\nlines", ""});
  EXPECT_EQ(out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\r\n");
}

TEST(Csv, TextThatASpreadsheetWouldRunIsKeptAsText) {
  EXPECT_EQ(http::csv::text("=1+1"), "'=1+1");
  EXPECT_EQ(http::csv::text("+49 30 1234"), "'+49 30 1234");
  EXPECT_EQ(http::csv::text("-5"), "'-5");
  EXPECT_EQ(http::csv::text("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(http::csv::text("\t=cmd"), "'\t=cmd");
  EXPECT_EQ(http::csv::text("Espresso beans"), "Espresso beans");
  EXPECT_EQ(http::csv::text(""), "");
}

TEST(Csv, AStreamedBodyIsTheHeaderThenEveryPageThenNothing) {
  int page = 0;
  auto r = http::csv::stream("x.csv", "h\r\n", [&page](std::string& out) {
    if (page == 1) {  // a page with nothing in it does not end the body
      ++page;
      return true;
    }
    out += "row" + std::to_string(page++) + "\r\n";
    return page < 4;
  });
  std::string body;
  for (std::string piece; !(piece = r.pieces()).empty();) body += piece;
  EXPECT_EQ(body, "h\r\nrow0\r\nrow2\r\nrow3\r\n");
  EXPECT_EQ(r.content_type, "text/csv; charset=utf-8");
}
