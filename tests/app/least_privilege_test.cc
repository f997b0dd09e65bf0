// What each daemon keeps after the drop, and which directories are given to the user
// (src/app/least_privilege.h), over the fake; the real drop is checked on the running
// daemons by tests/integration/test_privileges.py.
#include "app/least_privilege.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "app/settings.h"
#include "os/fakes/fake_privileges.h"

namespace m6t::app {
namespace {

using os::Capability;

TEST(LeastPrivilege, GatewayKeepsNoCapability) {
  EXPECT_TRUE(gateway_keeps().empty());
  EXPECT_EQ(gateway_keeps(true), (std::vector<os::Capability>{os::Capability::kNetAdmin}));
}

TEST(LeastPrivilege, ClientKeepsNetAdminAndNetRawOnlyForOldKernelBindToDevice) {
  EXPECT_EQ(client_keeps(false, true), std::vector<Capability>{Capability::kNetAdmin});
  EXPECT_EQ(client_keeps(false, false), std::vector<Capability>{Capability::kNetAdmin});
  EXPECT_EQ(client_keeps(true, true), std::vector<Capability>{Capability::kNetAdmin});
  EXPECT_EQ(client_keeps(true, false),
            (std::vector<Capability>{Capability::kNetAdmin, Capability::kNetRaw}));
}

TEST(LeastPrivilege, ParentDir) {
  EXPECT_EQ(parent_dir("/run/m6t/gateway-m6tgw0.sock"), "/run/m6t");
  EXPECT_EQ(parent_dir("/x.sock"), "/");
  EXPECT_EQ(parent_dir("x.sock"), ".");
}

TEST(LeastPrivilege, GivesCreatedAndDefaultDirectoriesOnlyThenDrops) {
  os::FakePrivileges p;
  Logger log("test", LogLevel::kError);
  auto user = p.lookup("m6t");
  ASSERT_TRUE(user);
  // "/" existed before and is not a default directory: never chowned (it is writable here,
  // as the test runs as root or owns nothing it could give anyway).
  auto st = become_user(p, *user,
                        {{"/tmp/m6t-created-now", false, true},
                         {kControlDir, true, false},
                         {std::string(kControlDir) + "/claims", true, true},
                         {"/tmp", true, false}},
                        {Capability::kNetAdmin}, log);
  ASSERT_TRUE(st) << st.error();
  EXPECT_EQ(p.calls, (std::vector<std::string>{
                         "lookup m6t", "give_dir /tmp/m6t-created-now m6t", "give_dir /run/m6t m6t",
                         "give_dir /run/m6t/claims m6t", "drop m6t keep CAP_NET_ADMIN"}));
}

TEST(LeastPrivilege, UnknownUserAndFailedDropAreErrors) {
  os::FakePrivileges p;
  EXPECT_EQ(p.lookup("nosuchuser").error(), "no such user 'nosuchuser'");
  p.fail_drop = true;
  Logger log("test", LogLevel::kError);
  auto st = become_user(p, {"m6t", 990, 990}, {}, {}, log);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(), "--user m6t: cannot become user 'm6t'");
}

TEST(LeastPrivilege, LookupUserIsNothingWithoutTheOptionAndNamesItOnError) {
  os::FakePrivileges p;
  auto none = lookup_user(p, "");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_TRUE(p.calls.empty()) << "no lookup without --user";
  auto m6t = lookup_user(p, "m6t");
  ASSERT_TRUE(m6t && *m6t);
  EXPECT_EQ((*m6t)->uid, 990u);
  auto unknown = lookup_user(p, "nosuchuser");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), "--user nosuchuser: no such user 'nosuchuser'");
}

TEST(LeastPrivilege, RealLookupFindsRootAndRejectsUnknown) {
  auto p = os::make_privileges();
  auto root = p->lookup("root");
  ASSERT_TRUE(root) << root.error();
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->gid, 0u);
  auto none = p->lookup("m6t-no-such-user-x");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), "no such user 'm6t-no-such-user-x'");
}

TEST(LeastPrivilege, UserOptionReachesBothDaemons) {
  RawOptions g{{"listen", {{"203.0.113.2:4500"}, "--listen"}},
               {"prefix", {{"fd00:db8:1::/48"}, "--prefix"}},
               {"home-agent", {{"2001:db8:1::2"}, "--home-agent"}},
               {"user", {{"m6t"}, "--user"}}};
  GatewaySettings gs;
  ASSERT_FALSE(validate(g, gs));
  EXPECT_EQ(gs.user, "m6t");
  RawOptions c{{"gateway", {{"203.0.113.2:4500"}, "--gateway"}},
               {"prefix", {{"fd00:db8:1:0:1::/80"}, "--prefix"}}};
  ClientSettings cs;
  ASSERT_FALSE(validate(c, cs));
  EXPECT_EQ(cs.user, "");  // default: stay root
  c["user"] = RawValue{{"nobody"}, "c.toml:3"};
  ASSERT_FALSE(validate(c, cs));
  EXPECT_EQ(cs.user, "nobody");
  EXPECT_NE(client_options().find("user"), nullptr);
  EXPECT_NE(gateway_options().find("user"), nullptr);
}

}  // namespace
}  // namespace m6t::app
