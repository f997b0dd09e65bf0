// Each timer of client_timers.h, with a fake clock: the events that arm, re-arm and stop it,
// and what it asks for when due.
#include "core/client_timers.h"

#include <gtest/gtest.h>

#include "core/client_engine.h"
#include "support/fake_random.h"
#include "support/packets.h"

namespace m6t::core {
namespace {

using testing::at_ms;
using namespace std::chrono_literals;

constexpr auto kUp = ClientState::kUp;
constexpr auto kProbing = ClientState::kProbing;

class ClientTimersTest : public ::testing::Test {
 protected:
  ClientTimerConfig config_;
  ClientTimers timers_{config_};
};

TEST_F(ClientTimersTest, NothingRunsWithoutUplink) {
  EXPECT_EQ(timers_.next_deadline(ClientState::kNoUplink), std::nullopt);
  EXPECT_EQ(timers_.due(ClientState::kNoUplink, at_ms(1'000'000)), std::nullopt);
}

TEST_F(ClientTimersTest, DebounceArmsOnChangeRestartsOnEachAndStopsWhenSettled) {
  timers_.uplink_changed(at_ms(0));
  EXPECT_EQ(timers_.next_deadline(ClientState::kNoUplink), at_ms(250));
  EXPECT_FALSE(timers_.debounce_due(at_ms(249)));
  timers_.uplink_changed(at_ms(100));  // another change: the view must hold 250 ms again
  EXPECT_FALSE(timers_.debounce_due(at_ms(300)));
  EXPECT_TRUE(timers_.debounce_due(at_ms(350)));
  timers_.uplink_settled();
  EXPECT_FALSE(timers_.debounce_due(at_ms(10'000)));
  EXPECT_EQ(timers_.next_deadline(ClientState::kNoUplink), std::nullopt);
}

TEST_F(ClientTimersTest, FirstAnswerArmsOnFirstPacketSentAndStopsOnAnswer) {
  timers_.attached(at_ms(0));
  EXPECT_EQ(timers_.next_deadline(kProbing), std::nullopt) << "nothing sent, nothing awaited";
  timers_.packet_sent(at_ms(1000));
  timers_.packet_sent(at_ms(2000));  // a later packet does not push it back
  EXPECT_EQ(timers_.next_deadline(kProbing), at_ms(7000));
  EXPECT_EQ(timers_.due(kProbing, at_ms(6999)), std::nullopt);
  EXPECT_EQ(timers_.due(kProbing, at_ms(7000)), ClientTimer::kFirstAnswer);
  timers_.answer_received(at_ms(6500), false);
  EXPECT_EQ(timers_.due(kProbing, at_ms(7000)), std::nullopt);
}

TEST_F(ClientTimersTest, AttachmentStopsFirstAnswer) {
  timers_.attached(at_ms(0));
  timers_.packet_sent(at_ms(10));
  timers_.attached(at_ms(20));
  EXPECT_EQ(timers_.due(kProbing, at_ms(100'000)), std::nullopt);
}

TEST_F(ClientTimersTest, KeepaliveWhenIdleInEitherDirection) {
  timers_.attached(at_ms(0));
  timers_.answer_received(at_ms(0), false);
  EXPECT_EQ(timers_.next_deadline(kUp), at_ms(30'000));
  // Receiving alone does not make the tunnel busy: the older of the two clocks counts (§2.3).
  timers_.answer_received(at_ms(20'000), false);
  EXPECT_EQ(timers_.next_deadline(kUp), at_ms(30'000));
  EXPECT_EQ(timers_.due(kUp, at_ms(30'000)), ClientTimer::kKeepalive);
}

TEST_F(ClientTimersTest, ProbeSoonAfterUnansweredTraffic) {
  timers_.attached(at_ms(0));
  timers_.answer_received(at_ms(0), false);
  timers_.packet_sent(at_ms(5000));
  EXPECT_EQ(timers_.next_deadline(kUp), at_ms(8000)) << "probe_after 3 s";
  EXPECT_EQ(timers_.due(kUp, at_ms(8000)), ClientTimer::kKeepalive);
  timers_.answer_received(at_ms(6000), false);
  EXPECT_EQ(timers_.next_deadline(kUp), at_ms(35'000)) << "answered: back to the idle interval";
}

TEST_F(ClientTimersTest, RetryThenGatewayLostAfterMaxUnanswered) {
  timers_.attached(at_ms(0));
  timers_.answer_received(at_ms(0), false);
  timers_.keepalive_sent(at_ms(30'000));
  EXPECT_EQ(timers_.unanswered_keepalives(), 1u);
  EXPECT_EQ(timers_.next_deadline(kUp), at_ms(31'000)) << "keepalive_retry 1 s";
  EXPECT_EQ(timers_.due(kUp, at_ms(31'000)), ClientTimer::kKeepalive);
  timers_.keepalive_sent(at_ms(31'000));
  timers_.keepalive_sent(at_ms(32'000));
  EXPECT_EQ(timers_.due(kUp, at_ms(32'999)), std::nullopt);
  EXPECT_EQ(timers_.due(kUp, at_ms(33'000)), ClientTimer::kGatewayLost);
  timers_.answer_received(at_ms(32'500), true);
  EXPECT_EQ(timers_.unanswered_keepalives(), 0u);
  EXPECT_EQ(timers_.last_keepalive_answered(), at_ms(32'500));
  EXPECT_EQ(timers_.due(kUp, at_ms(33'000)), std::nullopt);
}

TEST_F(ClientTimersTest, AttachmentForgetsOutstandingKeepalives) {
  timers_.attached(at_ms(0));
  timers_.keepalive_sent(at_ms(10));
  timers_.attached(at_ms(20));
  EXPECT_EQ(timers_.unanswered_keepalives(), 0u);
  EXPECT_EQ(timers_.last_keepalive_sent(), std::nullopt);
}

TEST_F(ClientTimersTest, BackoffDoublesUpToTheMaximumWithJitterAndResets) {
  testing::FakeRandom rng;
  auto delay = [&](std::int64_t at) {
    timers_.backoff_started(at_ms(at), rng);
    return timers_.backoff_until() - at_ms(at);
  };
  Duration d1 = delay(0), d2 = delay(0), d3 = delay(0);
  EXPECT_GE(d1, 500ms);
  EXPECT_LE(d1, 1000ms);
  EXPECT_GE(d2, 1000ms);
  EXPECT_LE(d2, 2000ms);
  EXPECT_GE(d3, 2000ms);
  EXPECT_LE(d3, 4000ms);
  for (int i = 0; i < 40; ++i)
    EXPECT_LE(delay(0), 64s);
  EXPECT_EQ(timers_.due(ClientState::kBackoff, timers_.backoff_until()), ClientTimer::kBackoff);
  timers_.backoff_reset();
  EXPECT_LE(delay(0), 1000ms);
}

TEST_F(ClientTimersTest, SleepCheckStartsWithTheFirstSampleAndRunsInEveryState) {
  EXPECT_FALSE(timers_.sleep_check_due(at_ms(100'000)));
  timers_.sleep_checked(at_ms(0));
  for (auto s : {ClientState::kNoUplink, kProbing, kUp, ClientState::kBackoff})
    EXPECT_LE(*timers_.next_deadline(s), at_ms(2000)) << to_string(s);
  EXPECT_FALSE(timers_.sleep_check_due(at_ms(1999)));
  EXPECT_TRUE(timers_.sleep_check_due(at_ms(2000)));
}

TEST(ClientTimer, NamesAreDistinct) {
  EXPECT_EQ(to_string(ClientTimer::kFirstAnswer), "first_answer");
  EXPECT_EQ(to_string(ClientTimer::kKeepalive), "keepalive");
  EXPECT_EQ(to_string(ClientTimer::kGatewayLost), "gateway_lost");
  EXPECT_EQ(to_string(ClientTimer::kBackoff), "backoff");
}

}  // namespace
}  // namespace m6t::core
