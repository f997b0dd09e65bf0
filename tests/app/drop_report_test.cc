// Drop logging under a flood (hardening: "no log floods"), with a fake clock: one summary line
// per reason per interval, whatever the number of drops; the first drop reported at once.
#include "app/drop_report.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "support/packets.h"

namespace m6t::app {
namespace {

using core::Drop;
using testing::at_ms;
using testing::ep;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

class DropReportTest : public ::testing::Test {
 protected:
  // n drops of `d` at `now`, as the daemon does: count, then note.
  void drop(Drop d, int n, core::Time now, std::optional<core::Endpoint4> from = std::nullopt) {
    for (int i = 0; i < n; ++i) {
      counters_.add(d);
      report_.note(d, now, from);
    }
  }
  // What a timer firing at `now` logs (only when the report is due, as in the daemons).
  std::vector<std::string> fire(core::Time now) {
    ::testing::internal::CaptureStderr();
    int n = 0;
    if (report_.next_deadline() && *report_.next_deadline() <= now)
      n = report_.report(counters_, now, log_);
    auto lines = lines_of(::testing::internal::GetCapturedStderr());
    EXPECT_EQ(static_cast<int>(lines.size()), n);
    return lines;
  }

  core::DropCounters counters_;
  DropReport report_{std::chrono::seconds(10)};
  Logger log_{"gateway", LogLevel::kInfo};
};

TEST_F(DropReportTest, NothingDroppedNothingLoggedNoTimer) {
  EXPECT_FALSE(report_.next_deadline());
  EXPECT_TRUE(fire(at_ms(100000)).empty());
}

TEST_F(DropReportTest, FirstDropIsReportedAtOnce) {
  drop(Drop::kSrcOutsidePrefix, 1, at_ms(5000), ep("198.51.100.7:4500"));
  ASSERT_TRUE(report_.next_deadline());
  EXPECT_EQ(*report_.next_deadline(), at_ms(5000));
  auto lines = fire(at_ms(5000));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("gateway info: 1 packet dropped: source outside the MN prefix, last "
                          "from 198.51.100.7:4500"),
            std::string::npos)
      << lines[0];
}

TEST_F(DropReportTest, AFloodIsSummarisedOncePerInterval) {
  drop(Drop::kSrcOutsidePrefix, 1, at_ms(0), ep("198.51.100.1:1"));
  EXPECT_EQ(fire(at_ms(0)).size(), 1u);
  // A million drops over the next 30 s, timers firing every 100 ms.
  std::vector<std::string> all;
  for (int t = 100; t <= 30000; t += 100) {
    drop(Drop::kSrcOutsidePrefix, 1000 / 3, at_ms(t), ep("198.51.100.7:4500"));
    for (auto& l : fire(at_ms(t)))
      all.push_back(l);
  }
  ASSERT_EQ(all.size(), 3u) << "one line at 10 s, 20 s and 30 s";
  // Each line sums up what came since the previous one, and warns (a burst).
  EXPECT_NE(all[0].find("gateway warn: 33300 packets dropped: source outside the MN prefix, "
                        "last from 198.51.100.7:4500"),
            std::string::npos)
      << all[0];
  std::uint64_t reported = 1;
  for (auto& l : all)
    reported += std::stoull(l.substr(l.find(": ") + 2));
  EXPECT_EQ(reported, counters_[Drop::kSrcOutsidePrefix]) << "every drop is counted once";
}

TEST_F(DropReportTest, OneLinePerReasonWithItsOwnLastSource) {
  drop(Drop::kBindingMismatch, 5, at_ms(0), ep("203.0.113.66:1000"));
  drop(Drop::kRateLimited, 500, at_ms(0), ep("203.0.113.66:2000"));
  drop(Drop::kNoState, 2, at_ms(0));  // home side: no IPv4 source
  auto lines = fire(at_ms(0));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("info: 5 packets dropped: source bound to another IPv4 address or "
                          "port, last from 203.0.113.66:1000"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("warn: 500 packets dropped: state creation rate exceeded for the IPv4 "
                          "address, last from 203.0.113.66:2000"),
            std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find("info: 2 packets dropped: no state for the destination"),
            std::string::npos);
  EXPECT_EQ(lines[2].find("last from"), std::string::npos);
}

TEST_F(DropReportTest, QuietAgainThenNewDropsWaitForTheInterval) {
  drop(Drop::kTruncated, 1, at_ms(0));
  EXPECT_EQ(fire(at_ms(0)).size(), 1u);
  drop(Drop::kTruncated, 1, at_ms(3000));
  EXPECT_EQ(*report_.next_deadline(), at_ms(10000));
  EXPECT_TRUE(fire(at_ms(9999)).empty());
  EXPECT_EQ(fire(at_ms(10000)).size(), 1u);
  EXPECT_FALSE(report_.next_deadline());
  // Long quiet: the next drop is reported at once again.
  drop(Drop::kTruncated, 1, at_ms(60000));
  EXPECT_EQ(*report_.next_deadline(), at_ms(60000));
}

TEST_F(DropReportTest, LinesAreBoundedByReasonsTimesIntervals) {
  // Every reason, every millisecond, for a minute: at most kDropCount lines per interval plus
  // the immediate first report.
  std::size_t total = 0;
  for (int t = 0; t <= 60000; t += 1) {
    for (std::size_t r = 0; r < core::kDropCount; ++r)
      drop(static_cast<Drop>(r), 1, at_ms(t), ep("198.19.0.1:1024"));
    if (t % 50 == 0) total += fire(at_ms(t)).size();
  }
  // One reason (dst_invalid, the host's own chatter) is logged at debug only.
  EXPECT_LE(total, (core::kDropCount - 1) * (60 / 10 + 1));
  EXPECT_GE(total, (core::kDropCount - 1) * (60 / 10));
}

TEST_F(DropReportTest, FlushAtShutdownLogsWhatIsNotYetDue) {
  drop(Drop::kNoState, 1, at_ms(0));
  EXPECT_EQ(fire(at_ms(0)).size(), 1u);
  drop(Drop::kNoState, 41, at_ms(2000));
  drop(Drop::kTruncated, 2, at_ms(2500));
  ASSERT_EQ(*report_.next_deadline(), at_ms(10000));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(report_.flush(counters_, at_ms(3000), log_), 2);
  auto lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("2 packets dropped: shorter than"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("41 packets dropped: no state"), std::string::npos) << lines[1];
  EXPECT_FALSE(report_.next_deadline());
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(report_.flush(counters_, at_ms(3001), log_), 0) << "nothing is reported twice";
  EXPECT_TRUE(::testing::internal::GetCapturedStderr().empty());
}

TEST_F(DropReportTest, HostChatterIsLoggedAtDebugOnly) {
  // The kernel's MLD reports on the gateway's TUN device: not an attack, not misrouting.
  drop(Drop::kDstInvalid, 2, at_ms(0));
  EXPECT_TRUE(fire(at_ms(0)).empty());
  Logger debug_log{"gateway", LogLevel::kDebug};
  drop(Drop::kDstInvalid, 1, at_ms(20000));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(report_.report(counters_, at_ms(20000), debug_log), 1);
  auto lines = lines_of(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("debug: 1 packet dropped: destination is multicast or link-local"),
            std::string::npos)
      << lines[0];
}

TEST_F(DropReportTest, SummaryWording) {
  EXPECT_EQ(DropReport::summary(1523, Drop::kSrcOutsidePrefix, ep("198.51.100.7:4500")),
            "1523 packets dropped: source outside the MN prefix, last from 198.51.100.7:4500");
  EXPECT_EQ(DropReport::summary(1, Drop::kTruncated, std::nullopt),
            "1 packet dropped: shorter than an IPv6 header");
}

}  // namespace
}  // namespace m6t::app
