// The client hook over the fake process runner: environment, order, timeout, bounds.
#include "app/hook.h"

#include <sys/wait.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>

#include "os/fakes/fake_process.h"
#include "support/packets.h"

namespace m6t::app {
namespace {

using testing::at_ms;
using testing::ep;
using testing::v4;
using testing::v6;
using namespace std::chrono_literals;

constexpr int kExit0 = 0;       // wait status of "exit 0"
constexpr int kExit3 = 3 << 8;  // wait status of "exit 3"

bool has(const std::vector<std::string>& env, const std::string& kv) {
  return std::find(env.begin(), env.end(), kv) != env.end();
}

const HookContext kCtx{"m6t0", 1472, *core::Ipv6Prefix::parse("fd00:db8:1:0:1::/80"), "wlan0",
                       core::Uplink{true, v4("192.0.2.2"), v4("192.0.2.1"), 2}};

core::ClientEvent changed() {
  return {core::Change::kChanged,
          core::AttachReason::kUplinkChanged,
          at_ms(0),
          v6("fd00:db8:1:0:1:2:3:4"),
          v6("fd00:db8:1:0:1:5:6:7"),
          ep("203.0.113.2:4500"),
          v4("192.0.2.2")};
}

TEST(HookEnvironment, ChangedCarriesBothAddressesInterfaceMtuAndGateway) {
  auto env = hook_environment(changed(), kCtx);
  EXPECT_TRUE(has(env, "M6T_STATE=changed"));
  EXPECT_TRUE(has(env, "M6T_REASON=uplink_changed"));
  EXPECT_TRUE(has(env, "M6T_INTERFACE=m6t0"));
  EXPECT_TRUE(has(env, "M6T_ADDRESS=fd00:db8:1:0:1:2:3:4"));
  EXPECT_TRUE(has(env, "M6T_OLD_ADDRESS=fd00:db8:1:0:1:5:6:7"));
  EXPECT_TRUE(has(env, "M6T_MTU=1472"));
  EXPECT_TRUE(has(env, "M6T_PREFIX=fd00:db8:1:0:1::/80"));
  EXPECT_TRUE(has(env, "M6T_GATEWAY=203.0.113.2:4500"));
  EXPECT_TRUE(has(env, "M6T_UPLINK=wlan0"));
  EXPECT_TRUE(has(env, "M6T_IPV4_ADDRESS=192.0.2.2"));
  EXPECT_TRUE(std::any_of(env.begin(), env.end(),
                          [](const std::string& e) { return e.rfind("PATH=", 0) == 0; }));
}

TEST(HookEnvironment, UpHasNoOldAddressAndDownNoNewOne) {
  core::ClientEvent up = changed();
  up.change = core::Change::kUp;
  up.old_address.reset();
  auto env = hook_environment(up, kCtx);
  EXPECT_TRUE(has(env, "M6T_STATE=up"));
  EXPECT_TRUE(has(env, "M6T_OLD_ADDRESS="));

  core::ClientEvent down = changed();
  down.change = core::Change::kDown;
  down.reason = core::AttachReason::kUplinkLost;
  down.address.reset();
  HookContext no_ipv4 = kCtx;
  no_ipv4.ipv4 = {};
  env = hook_environment(down, no_ipv4);
  EXPECT_TRUE(has(env, "M6T_STATE=down"));
  EXPECT_TRUE(has(env, "M6T_ADDRESS="));
  EXPECT_TRUE(has(env, "M6T_OLD_ADDRESS=fd00:db8:1:0:1:5:6:7"));
  EXPECT_TRUE(has(env, "M6T_GATEWAY="));
  EXPECT_TRUE(has(env, "M6T_IPV4_ADDRESS="));
}

class HookTest : public ::testing::Test {
 protected:
  os::FakeProcessRunner runner_;
  Logger log_{"test", LogLevel::kError};
  Hook hook_{"/etc/m6t/hook", 5s, runner_, log_};
};

TEST_F(HookTest, RunsTheProgramWithTheStateAsArgument) {
  hook_.notify(changed(), kCtx, at_ms(0));
  ASSERT_EQ(runner_.spawned.size(), 1u);
  EXPECT_EQ(runner_.spawned[0].path, "/etc/m6t/hook");
  EXPECT_EQ(runner_.spawned[0].args, std::vector<std::string>{"changed"});
  EXPECT_TRUE(has(runner_.spawned[0].env, "M6T_ADDRESS=fd00:db8:1:0:1:2:3:4"));
  EXPECT_TRUE(hook_.running());
}

TEST_F(HookTest, RunsOneAtATimeInOrder) {
  core::ClientEvent down = changed();
  down.change = core::Change::kDown;
  down.address.reset();
  hook_.notify(changed(), kCtx, at_ms(0));
  hook_.notify(down, kCtx, at_ms(10));
  ASSERT_EQ(runner_.spawned.size(), 1u) << "the second waits for the first";
  EXPECT_EQ(hook_.queued(), 1u);
  hook_.on_child_exit(at_ms(20));  // some other child: ours still runs
  EXPECT_EQ(runner_.spawned.size(), 1u);
  runner_.finish(1000, kExit0);
  hook_.on_child_exit(at_ms(30));
  ASSERT_EQ(runner_.spawned.size(), 2u);
  EXPECT_EQ(runner_.spawned[1].args, std::vector<std::string>{"down"});
  EXPECT_EQ(hook_.counters().succeeded, 1u);
}

TEST_F(HookTest, AFailingHookIsCountedAndTheNextStillRuns) {
  hook_.notify(changed(), kCtx, at_ms(0));
  hook_.notify(changed(), kCtx, at_ms(0));
  runner_.finish(1000, kExit3);
  hook_.on_child_exit(at_ms(5));
  EXPECT_EQ(hook_.counters().failed, 1u);
  EXPECT_EQ(runner_.spawned.size(), 2u);
}

TEST_F(HookTest, AHangingHookIsKilledAtItsTimeoutAndTheQueueMovesOn) {
  hook_.notify(changed(), kCtx, at_ms(0));
  hook_.notify(changed(), kCtx, at_ms(0));
  EXPECT_EQ(hook_.next_deadline(), at_ms(5000));
  hook_.on_timer(at_ms(4999));
  EXPECT_TRUE(runner_.killed.empty());
  hook_.on_timer(at_ms(5000));
  EXPECT_EQ(runner_.killed, std::vector<int>{1000});
  EXPECT_EQ(hook_.counters().timed_out, 1u);
  EXPECT_EQ(hook_.counters().failed, 1u);
  ASSERT_EQ(runner_.spawned.size(), 2u);
  EXPECT_EQ(hook_.next_deadline(), at_ms(10000)) << "the next run gets its own timeout";
}

TEST_F(HookTest, AProgramThatCannotStartIsCountedAndSkipped) {
  runner_.fail_spawn = true;
  hook_.notify(changed(), kCtx, at_ms(0));
  EXPECT_FALSE(hook_.running());
  EXPECT_EQ(hook_.counters().failed, 1u);
  EXPECT_EQ(hook_.next_deadline(), std::nullopt);
}

TEST_F(HookTest, TheQueueIsBoundedAndDropsTheOldestWaitingRun) {
  for (int i = 0; i < 1 + static_cast<int>(Hook::kMaxQueued) + 4; ++i)
    hook_.notify(changed(), kCtx, at_ms(i));
  EXPECT_EQ(hook_.queued(), Hook::kMaxQueued);
  EXPECT_EQ(hook_.counters().dropped, 4u);
}

TEST_F(HookTest, DrainLetsQueuedRunsFinishAtShutdown) {
  hook_.notify(changed(), kCtx, at_ms(0));
  hook_.notify(changed(), kCtx, at_ms(0));
  runner_.exit_on_wait = kExit0;
  hook_.drain();
  EXPECT_FALSE(hook_.running());
  EXPECT_EQ(runner_.spawned.size(), 2u);
  EXPECT_EQ(hook_.counters().succeeded, 2u);
}

TEST_F(HookTest, DrainKillsARunThatOverrunsItsTimeout) {
  hook_.notify(changed(), kCtx, at_ms(0));
  hook_.drain();  // the fake child never exits on its own
  EXPECT_EQ(runner_.killed, std::vector<int>{1000});
  EXPECT_EQ(hook_.counters().timed_out, 1u);
  EXPECT_FALSE(hook_.running());
}

}  // namespace
}  // namespace m6t::app
