// common/text.*: characters counted, U+0000 found, and bytes from elsewhere made valid UTF-8.

#include "common/text.hpp"

#include <gtest/gtest.h>

#include <string>

using common::valid_utf8;

TEST(Text, CharactersCountsCodePointsNotBytes) {
  EXPECT_EQ(common::characters(""), 0u);
  EXPECT_EQ(common::characters("abc"), 3u);
  EXPECT_EQ(common::characters("\xC3\xA9t\xC3\xA9"), 3u);     // été
  EXPECT_EQ(common::characters("\xE2\x82\xAC\xF0\x9F\x98\x80"), 2u);  // €, 😀
}

TEST(Text, HasNull) {
  EXPECT_FALSE(common::has_null("name"));
  EXPECT_TRUE(common::has_null(std::string("a\0b", 3)));
}

TEST(Text, ValidUtf8KeepsWellFormedText) {
  std::string text = "plain, \xC3\xA9t\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80, \xEF\xBF\xBD";
  EXPECT_EQ(valid_utf8(text, 1024), text);
  EXPECT_EQ(valid_utf8("", 10), "");
}

TEST(Text, ValidUtf8ReplacesEachBadByte) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(valid_utf8("caf\xE9", 100), "caf" + r);                       // Latin-1
  EXPECT_EQ(valid_utf8(std::string("a\0b", 3), 100), "a" + r + "b");      // U+0000
  EXPECT_EQ(valid_utf8("\xC0\xAF", 100), r + r);                          // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80", 100), r + r + r);                  // a surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80", 100), r + r + r + r);          // past U+10FFFF
  EXPECT_EQ(valid_utf8("\x80x", 100), r + "x");                           // a lone continuation byte
  EXPECT_EQ(valid_utf8("\xE2\x82", 100), r + r);                          // a character cut short
  EXPECT_EQ(valid_utf8("\xE2\x82x", 100), r + r + "x");
}

TEST(Text, ValidUtf8StopsBeforeACharacterThatDoesNotFit) {
  EXPECT_EQ(valid_utf8("abcdef", 4), "abcd");
  EXPECT_EQ(valid_utf8("abc\xE2\x82\xAC", 5), "abc");  // € needs three bytes
  EXPECT_EQ(valid_utf8("abc\xE2\x82\xAC", 6), "abc\xE2\x82\xAC");
  EXPECT_EQ(valid_utf8("abc\xFF", 5), "abc");          // nor does its replacement
}

TEST(Text, DotAtomsAndHostNamesAreWhatMailServersTake) {
  using common::is_dot_atom;
  using common::is_host_name;
  for (const char* good : {"a", "o'brien+shop", "first.last", "!#$%&'*+-/=?^_`{|}~"}) EXPECT_TRUE(is_dot_atom(good)) << good;
  for (const char* bad : {"", ".a", "a.", "a..b", "a b", "caf\xC3\xA9", "a@b", "a\"b"}) EXPECT_FALSE(is_dot_atom(bad)) << bad;
  for (const char* good : {"localhost", "example.com", "xn--bcher-kva.example", "a-b.c0"}) EXPECT_TRUE(is_host_name(good)) << good;
  for (const char* bad : {"", ".", "a..b", "-a.com", "a-.com", "a_b.com", "b\xC3\xBC" "cher.example", "a.com."}) {
    EXPECT_FALSE(is_host_name(bad)) << bad;
  }
  EXPECT_TRUE(is_host_name(std::string(63, 'a') + ".com"));
  EXPECT_FALSE(is_host_name(std::string(64, 'a') + ".com"));
  auto labels = [](int n) {  // "a.a.a...": 2n - 1 characters
    std::string out = "a";
    for (int i = 1; i < n; ++i) out += ".a";
    return out;
  };
  EXPECT_TRUE(is_host_name(labels(128)));   // 255 characters
  EXPECT_FALSE(is_host_name(labels(129)));  // 257
}
