#include "os/claims.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

namespace m6t::os {
namespace {

core::Ipv6Prefix prefix(const char* text) {
  return *core::Ipv6Prefix::parse(text);
}

class Claims : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/m6t-claims-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = std::string(tmpl) + "/claims";  // missing: open() creates it
  }
  void TearDown() override {
    std::filesystem::remove_all(std::filesystem::path(dir_).parent_path());
  }
  std::unique_ptr<FileClaims> open(const char* p = "fd00:db8:1:0:1::/80") {
    auto c = FileClaims::open(dir_, prefix(p));
    EXPECT_TRUE(c) << c.error();
    return std::move(*c);
  }
  std::string dir_;
};

// §2.5: two tunnel interfaces sharing a /80 never hold the same value at once.
TEST_F(Claims, AValueHeldByOneClientIsRefusedToAnother) {
  auto a = open();
  auto b = open();
  EXPECT_TRUE(a->claim(0x123456789abc));
  EXPECT_FALSE(b->claim(0x123456789abc));
  EXPECT_TRUE(b->claim(0x123456789abd));
  EXPECT_FALSE(a->claim(0x123456789abd));
}

TEST_F(Claims, AReleasedValueCanBeClaimedAgainAndItsFileIsRemoved) {
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a->claim(42));
  EXPECT_TRUE(std::filesystem::exists(a->path_of(42)));
  a->release(42);
  EXPECT_FALSE(std::filesystem::exists(a->path_of(42)));
  EXPECT_TRUE(b->claim(42));
}

TEST_F(Claims, ClientsOfDifferentPrefixesDoNotContend) {
  auto a = open("fd00:db8:1:0:1::/80");
  auto b = open("fd00:db8:1:0:2::/80");
  EXPECT_TRUE(a->claim(7));
  EXPECT_TRUE(b->claim(7));
}

TEST_F(Claims, DestroyingTheClaimsReleasesEveryValue) {
  auto b = open();
  {
    auto a = open();
    ASSERT_TRUE(a->claim(1));
    ASSERT_TRUE(a->claim(2));
    EXPECT_FALSE(b->claim(1));
  }
  EXPECT_TRUE(b->claim(1));
  EXPECT_TRUE(b->claim(2));
}

// A client that dies without releasing (SIGKILL, crash) must not block its value: the kernel
// drops an flock with the last descriptor, and the leftover file is claimable.
TEST_F(Claims, AValueOfAProcessThatDiedIsFreeAgain) {
  auto b = open();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto a = FileClaims::open(dir_, prefix("fd00:db8:1:0:1::/80"));
    bool ok = a && (*a)->claim(99);
    char c = ok ? '1' : '0';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, '1');
  EXPECT_FALSE(b->claim(99));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(std::filesystem::exists(b->path_of(99)));
  EXPECT_TRUE(b->claim(99));
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_F(Claims, AnUnusableDirectoryIsAnErrorThatNamesIt) {
  auto c = FileClaims::open("/proc/m6t-no-such-dir/claims", prefix("fd00:db8:1:0:1::/80"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("/proc/m6t-no-such-dir"), std::string::npos) << c.error();
}

}  // namespace
}  // namespace m6t::os
