#include "core/drop.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace m6t::core {
namespace {

TEST(DropTable, EveryReasonHasAUniqueNonEmptyNameAndDescription) {
  std::set<std::string_view> names, descriptions;
  for (std::size_t i = 0; i < kDropCount; ++i) {
    auto d = static_cast<Drop>(i);
    EXPECT_EQ(kDropTable[i].drop, d) << "entry " << i << " is out of the enum's order";
    EXPECT_FALSE(to_string(d).empty()) << "drop " << i;
    EXPECT_FALSE(describe(d).empty()) << "drop " << i;
    EXPECT_TRUE(names.insert(to_string(d)).second) << "name used twice: " << to_string(d);
    EXPECT_TRUE(descriptions.insert(describe(d)).second)
        << "description used twice: " << describe(d);
  }
  EXPECT_EQ(names.size(), kDropCount);
}

TEST(DropTable, NamesAreSnakeCase) {
  for (const DropInfo& d : kDropTable)
    for (char c : d.name)
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << d.name;
}

TEST(DropTable, OutOfRangeIsNamedNotRead) {
  EXPECT_EQ(to_string(Drop::kCount), "?");
  EXPECT_EQ(describe(Drop::kCount), "?");
}

TEST(DropCounters, CountPerReasonAndTotal) {
  DropCounters c;
  c.add(Drop::kNoState);
  c.add(Drop::kNoState);
  c.add(Drop::kTooBig);
  EXPECT_EQ(c[Drop::kNoState], 2u);
  EXPECT_EQ(c[Drop::kTooBig], 1u);
  EXPECT_EQ(c[Drop::kTruncated], 0u);
  EXPECT_EQ(c.total(), 3u);
}

}  // namespace
}  // namespace m6t::core
