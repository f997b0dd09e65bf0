#include "core/state_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/packets.h"

namespace m6t::core {
namespace {

using testing::at_ms;
using testing::ep;
using testing::v6;
using namespace std::chrono_literals;

Binding bind(const char* remote) {
  return Binding{ep(remote), ep("203.0.113.2:4500"), 0};
}

StateTable make(std::uint32_t max = 16, std::uint32_t max_temp = 8) {
  StateTableConfig c;
  c.temp_lifetime = 1000ms;
  c.active_lifetime = 90s;
  c.max_states = max;
  c.max_temp_states = max_temp;
  return StateTable(c, SipKey{3, 4});
}

TEST(StateTable, CreatesTemporaryAndFindsIt) {
  auto t = make();
  auto s = t.create_temporary(v6("fd00::1"), bind("198.51.100.1:1000"), at_ms(0));
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->kind, StateKind::kTemporary);
  ASSERT_NE(t.find(v6("fd00::1")), nullptr);
  EXPECT_EQ(t.find(v6("fd00::1"))->binding, bind("198.51.100.1:1000"));
  EXPECT_EQ(t.find(v6("fd00::2")), nullptr);
  EXPECT_EQ(t.temporary_count(), 1u);
}

TEST(StateTable, TemporaryExpiresAtExactlyItsLifetime) {
  auto t = make();
  ASSERT_TRUE(t.create_temporary(v6("fd00::1"), bind("198.51.100.1:1000"), at_ms(5)));
  EXPECT_EQ(t.next_deadline(), at_ms(1005));
  t.expire(at_ms(1004));
  EXPECT_NE(t.find(v6("fd00::1")), nullptr);
  t.expire(at_ms(1005));
  EXPECT_EQ(t.find(v6("fd00::1")), nullptr);
  EXPECT_EQ(t.stats().expired_temporary, 1u);
  EXPECT_FALSE(t.next_deadline());
}

TEST(StateTable, TemporaryLifetimeIsNotExtendedByTraffic) {
  auto t = make();
  State* s = *t.create_temporary(v6("fd00::1"), bind("198.51.100.1:1000"), at_ms(0));
  t.on_from_mn(*s, 100, at_ms(900));
  t.expire(at_ms(1000));
  EXPECT_EQ(t.find(v6("fd00::1")), nullptr);
}

TEST(StateTable, ActiveLifetimeStartsAtActivationAndIsExtendedByMnTraffic) {
  auto t = make();
  State* s = *t.create_temporary(v6("fd00::1"), bind("198.51.100.1:1000"), at_ms(0));
  t.activate(*s, at_ms(200));
  EXPECT_EQ(t.next_deadline(), at_ms(90200));
  t.on_from_mn(*t.find(v6("fd00::1")), 40, at_ms(50000));
  EXPECT_EQ(t.deadline_of(*t.find(v6("fd00::1"))), at_ms(140000));
  // No list move on the packet path: the table wakes at the queued time and re-queues.
  EXPECT_EQ(t.next_deadline(), at_ms(90200));
  t.expire(at_ms(90200));
  ASSERT_NE(t.find(v6("fd00::1")), nullptr);
  EXPECT_EQ(t.next_deadline(), at_ms(140000));
  t.expire(at_ms(139999));
  ASSERT_NE(t.find(v6("fd00::1")), nullptr);
  t.expire(at_ms(140000));
  EXPECT_EQ(t.find(v6("fd00::1")), nullptr);
  EXPECT_EQ(t.stats().expired_active, 1u);
}

TEST(StateTable, ARequeuedStateKeepsTheListInDeadlineOrder) {
  auto t = make();
  for (int i = 1; i <= 3; ++i) {
    std::string a = "fd00::" + std::to_string(i);
    State* s = *t.create_temporary(v6(a.c_str()), bind("198.51.100.1:1000"), at_ms(0));
    t.activate(*s, at_ms(1000 * i));  // fd00::1 at 1 s, ::2 at 2 s, ::3 at 3 s
  }
  t.on_from_mn(*t.find(v6("fd00::1")), 40, at_ms(2500));  // ::1 now lives until 92.5 s
  t.expire(at_ms(91000));                                 // re-queued between ::2 and ::3
  EXPECT_EQ(t.next_deadline(), at_ms(92000));
  t.expire(at_ms(92000));
  EXPECT_EQ(t.find(v6("fd00::2")), nullptr);
  ASSERT_NE(t.find(v6("fd00::1")), nullptr);
  EXPECT_EQ(t.next_deadline(), at_ms(92500));
  t.expire(at_ms(92500));
  EXPECT_EQ(t.find(v6("fd00::1")), nullptr);
  ASSERT_NE(t.find(v6("fd00::3")), nullptr);
  EXPECT_EQ(t.next_deadline(), at_ms(93000));
}

// A mirror that records what the table tells it, and reports scripted activity.
class RecordingMirror final : public StateMirror {
 public:
  void activated(const State& s) override { calls.push_back("activated " + s.mn.to_string()); }
  void path_changed(const State& s) override { calls.push_back("path " + s.mn.to_string()); }
  void removed(const State& s) override { calls.push_back("removed " + s.mn.to_string()); }
  std::optional<MirrorActivity> activity(const State&) const override { return seen; }
  std::vector<std::string> calls;
  std::optional<MirrorActivity> seen;
};

TEST(StateTable, TheMirrorLearnsOfActivationsAndExpiriesOnly) {
  auto t = make();
  RecordingMirror m;
  t.set_mirror(&m);
  State* tmp = *t.create_temporary(v6("fd00::1"), bind("198.51.100.1:1000"), at_ms(0));
  (void)tmp;
  t.expire(at_ms(1000));  // a temporary state is never mirrored (§3: active states only)
  EXPECT_TRUE(m.calls.empty());
  State* s = *t.create_temporary(v6("fd00::2"), bind("198.51.100.1:1000"), at_ms(1000));
  t.activate(*s, at_ms(1100));
  EXPECT_EQ(m.calls, (std::vector<std::string>{"activated fd00::2"}));
  t.expire(at_ms(91100));
  EXPECT_EQ(m.calls, (std::vector<std::string>{"activated fd00::2", "removed fd00::2"}));
}

TEST(StateTable, TheMirrorsTrafficFromTheMnExtendsTheActiveLifetime) {
  auto t = make();
  RecordingMirror m;
  t.set_mirror(&m);
  State* s = *t.create_temporary(v6("fd00::1"), bind("198.51.100.1:1000"), at_ms(0));
  t.activate(*s, at_ms(0));
  // §2.4: what the fast path forwarded from the MN counts as the MN's traffic...
  m.seen = MirrorActivity{{5, 500}, {}, at_ms(60000), std::nullopt};
  t.expire(at_ms(90000));
  ASSERT_NE(t.find(v6("fd00::1")), nullptr);
  EXPECT_EQ(t.deadline_of(*t.find(v6("fd00::1"))), at_ms(150000));
  // ...and traffic toward the MN alone does not.
  m.seen = MirrorActivity{{5, 500}, {9, 900}, at_ms(60000), at_ms(140000)};
  t.expire(at_ms(149999));
  ASSERT_NE(t.find(v6("fd00::1")), nullptr);
  t.expire(at_ms(150000));
  EXPECT_EQ(t.find(v6("fd00::1")), nullptr);
}

TEST(StateTable, TrafficTowardTheMnDoesNotExtendTheActiveLifetime) {
  auto t = make();
  State* s = *t.create_temporary(v6("fd00::1"), bind("198.51.100.1:1000"), at_ms(0));
  t.activate(*s, at_ms(0));
  t.on_to_mn(*s, 1000, at_ms(80000));
  EXPECT_EQ(t.next_deadline(), at_ms(90000));
  t.expire(at_ms(90000));
  EXPECT_EQ(t.find(v6("fd00::1")), nullptr);
}

TEST(StateTable, ExpiryOrderFollowsRefreshesAcrossManyStates) {
  auto t = make(64, 64);
  for (int i = 0; i < 10; ++i) {
    Ipv6Addr a = v6("fd00::");
    a.b[15] = static_cast<std::uint8_t>(i + 1);
    State* s = *t.create_temporary(a, bind("198.51.100.1:1000"), at_ms(i));
    t.activate(*s, at_ms(i));
  }
  // Refresh the odd ones late: only the even ones expire at the first deadline.
  for (int i = 1; i < 10; i += 2) {
    Ipv6Addr a = v6("fd00::");
    a.b[15] = static_cast<std::uint8_t>(i + 1);
    t.on_from_mn(*t.find(a), 1, at_ms(50000));
  }
  t.expire(at_ms(90009));
  EXPECT_EQ(t.size(), 5u);
  t.expire(at_ms(140000));
  EXPECT_EQ(t.size(), 0u);
}

TEST(StateTable, TemporaryCapEvictsTheOldestTemporary) {
  auto t = make(16, 2);
  ASSERT_TRUE(t.create_temporary(v6("fd00::1"), bind("198.51.100.1:1"), at_ms(0)));
  ASSERT_TRUE(t.create_temporary(v6("fd00::2"), bind("198.51.100.1:2"), at_ms(1)));
  ASSERT_TRUE(t.create_temporary(v6("fd00::3"), bind("198.51.100.1:3"), at_ms(2)));
  EXPECT_EQ(t.find(v6("fd00::1")), nullptr);
  EXPECT_NE(t.find(v6("fd00::2")), nullptr);
  EXPECT_NE(t.find(v6("fd00::3")), nullptr);
  EXPECT_EQ(t.temporary_count(), 2u);
  EXPECT_EQ(t.stats().evicted_temporary, 1u);
}

TEST(StateTable, TotalCapNeverEvictsActiveStates) {
  auto t = make(2, 2);
  State* a = *t.create_temporary(v6("fd00::1"), bind("198.51.100.1:1"), at_ms(0));
  t.activate(*a, at_ms(0));
  State* b = *t.create_temporary(v6("fd00::2"), bind("198.51.100.1:2"), at_ms(0));
  t.activate(*b, at_ms(0));
  auto c = t.create_temporary(v6("fd00::3"), bind("198.51.100.1:3"), at_ms(1));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), Drop::kStateTableFull);
  EXPECT_NE(t.find(v6("fd00::1")), nullptr);
  EXPECT_NE(t.find(v6("fd00::2")), nullptr);
}

TEST(StateTable, TotalCapEvictsATemporaryBeforeRefusing) {
  auto t = make(2, 2);
  State* a = *t.create_temporary(v6("fd00::1"), bind("198.51.100.1:1"), at_ms(0));
  t.activate(*a, at_ms(0));
  ASSERT_TRUE(t.create_temporary(v6("fd00::2"), bind("198.51.100.1:2"), at_ms(0)));
  ASSERT_TRUE(t.create_temporary(v6("fd00::3"), bind("198.51.100.1:3"), at_ms(1)));
  EXPECT_EQ(t.find(v6("fd00::2")), nullptr);
  EXPECT_NE(t.find(v6("fd00::1")), nullptr);
  EXPECT_EQ(t.size(), 2u);
}

TEST(StateTable, SlotsAreReusedAfterExpiry) {
  auto t = make(4, 4);
  for (int round = 0; round < 100; ++round) {
    for (int i = 0; i < 4; ++i) {
      Ipv6Addr a = v6("fd00::");
      a.b[14] = static_cast<std::uint8_t>(round);
      a.b[15] = static_cast<std::uint8_t>(i);
      ASSERT_TRUE(t.create_temporary(a, bind("198.51.100.1:1"), at_ms(round * 2000)));
    }
    t.expire(at_ms(round * 2000 + 1000));
    ASSERT_EQ(t.size(), 0u);
  }
  EXPECT_EQ(t.stats().evicted_temporary, 0u);
}

TEST(StateTable, RestoredStatesAreActiveMirroredAndEndWhenTheirSavedLifetimeDoes) {
  auto t = make();
  RecordingMirror m;
  t.set_mirror(&m);
  const PathMtu path = PathMtu::initial(PathMtuConfig{});
  // Restored out of order: the expiry list stays sorted by deadline.
  ASSERT_NE(t.restore_active(v6("fd00::1"), bind("198.51.100.1:1000"), path, 4, 30s, at_ms(0)),
            nullptr);
  ASSERT_NE(t.restore_active(v6("fd00::2"), bind("198.51.100.1:1001"), path, 4, 10s, at_ms(0)),
            nullptr);
  // Never longer than the active lifetime (90 s here), whatever the file said.
  ASSERT_NE(t.restore_active(v6("fd00::3"), bind("198.51.100.1:1002"), path, 4, 999s, at_ms(0)),
            nullptr);
  EXPECT_EQ(t.restore_active(v6("fd00::1"), bind("198.51.100.9:9"), path, 4, 5s, at_ms(0)),
            nullptr);  // a duplicate changes nothing
  EXPECT_EQ(t.find(v6("fd00::1"))->binding, bind("198.51.100.1:1000"));
  EXPECT_EQ(t.active_count(), 3u);
  EXPECT_EQ(t.stats().restored, 3u);
  EXPECT_EQ(t.find(v6("fd00::2"))->ifindex, 4u);
  EXPECT_EQ(m.calls.size(), 3u);
  EXPECT_EQ(t.next_deadline(), at_ms(10000));
  t.expire(at_ms(9999));
  EXPECT_EQ(t.active_count(), 3u);
  t.expire(at_ms(10000));
  EXPECT_EQ(t.find(v6("fd00::2")), nullptr);
  t.expire(at_ms(30000));
  EXPECT_EQ(t.find(v6("fd00::1")), nullptr);
  t.expire(at_ms(89999));
  ASSERT_NE(t.find(v6("fd00::3")), nullptr);
  t.expire(at_ms(90000));
  EXPECT_EQ(t.size(), 0u);
}

TEST(StateTable, RestoreStopsAtTheTableCapacity) {
  StateTableConfig c;
  c.max_states = 2;
  c.max_temp_states = 2;
  StateTable t(c, SipKey{1, 2});
  const PathMtu path = PathMtu::initial(PathMtuConfig{});
  EXPECT_NE(t.restore_active(v6("fd00::1"), bind("198.51.100.1:1"), path, 0, 5s, at_ms(0)),
            nullptr);
  EXPECT_NE(t.restore_active(v6("fd00::2"), bind("198.51.100.1:2"), path, 0, 5s, at_ms(0)),
            nullptr);
  EXPECT_EQ(t.restore_active(v6("fd00::3"), bind("198.51.100.1:3"), path, 0, 5s, at_ms(0)),
            nullptr);
}

}  // namespace
}  // namespace m6t::core
