#include "os/service_manager.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace m6t::os {
namespace {

// A stand-in for systemd's notification socket: what the daemon sends, datagram by datagram.
class NotifySocket : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = "/tmp/m6t-notify-test-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path_.copy(a.sun_path, sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  std::string receive() {
    char buf[512];
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n < 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
  }
  std::string path_;
  int fd_ = -1;
};

TEST_F(NotifySocket, EachNotificationArrivesAsSent) {
  EXPECT_TRUE(notify("READY=1\nSTATUS=3 active, 0 temporary states"));
  EXPECT_EQ(receive(), "READY=1\nSTATUS=3 active, 0 temporary states");
  EXPECT_TRUE(notify("STOPPING=1"));
  EXPECT_EQ(receive(), "STOPPING=1");
}

TEST(ServiceManager, WithoutSystemdNotificationsGoNowhere) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(notify("READY=1"));
}

TEST(ServiceManager, WatchdogIntervalIsTheManagersForThisProcessOnly) {
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  auto w = watchdog_interval();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->count(), 3000000);
  // Meant for another process (a parent that forked us): not ours to ping.
  ::setenv("WATCHDOG_USEC", "3000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_FALSE(watchdog_interval().has_value());
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  EXPECT_FALSE(watchdog_interval().has_value());
}

TEST(ServiceManager, StderrIsTheJournalOnlyWhenJournalStreamNamesIt) {
  struct stat st {};
  ASSERT_EQ(::fstat(STDERR_FILENO, &st), 0);
  const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  ::setenv("JOURNAL_STREAM", mine.c_str(), 1);
  EXPECT_TRUE(stderr_is_journal());
  // Inherited from a unit by a program whose stderr was redirected elsewhere.
  ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":1").c_str(), 1);
  EXPECT_EQ(stderr_is_journal(), st.st_ino == 1);
  ::setenv("JOURNAL_STREAM", "garbage", 1);
  EXPECT_FALSE(stderr_is_journal());
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(stderr_is_journal());
}

}  // namespace
}  // namespace m6t::os
