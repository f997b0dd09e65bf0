#include "os/control.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "os/unique_fd.h"
#include "test_util.h"

namespace m6t::os {
namespace {

using std::chrono::milliseconds;
using testing::contains;

class Control : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/m6t-os-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/ctl.sock";
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.ok());
    loop_ = std::move(*loop);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs the loop while `client` runs in another thread; the client thread ends the loop
  // through a pipe (the loop itself is single-threaded).
  template <class F>
  void serve_while(F client) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    UniqueFd r(fds[0]), w(fds[1]);
    ASSERT_TRUE(loop_->add(r.get(), [&](std::uint32_t) { loop_->stop(); }).ok());
    std::thread t([&] {
      client();
      EXPECT_EQ(::write(w.get(), "x", 1), 1);
    });
    const auto status = loop_->run();
    t.join();
    loop_->remove(r.get());
    EXPECT_TRUE(status.ok());
  }

  std::unique_ptr<ControlServer> open_server(ControlServer::Handler h) {
    auto s = ControlServer::open(path_, *loop_, std::move(h));
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<EventLoop> loop_;
};

TEST_F(Control, AMissingDirectoryIsAnErrorNamingItAndIsNotCreated) {
  const std::string missing = dir_ + "/run/m6t";
  auto s = ControlServer::open(missing + "/ctl.sock", *loop_,
                               [](const std::string&) { return std::string(); });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), "directory " + missing + ": No such file or directory");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/run"));
}

TEST_F(Control, RoundTrip) {
  std::string seen;
  auto server = open_server([&](const std::string& req) {
    seen = req;
    return std::string("{\"answer\": 42}\n");
  });
  ASSERT_TRUE(server);

  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  OsResult<std::string> answer = OsError{"not run"};
  serve_while([&] { answer = control_request(path_, "show", milliseconds(2000)); });
  ASSERT_TRUE(answer.ok()) << answer.error();
  EXPECT_EQ(*answer, "{\"answer\": 42}\n");
  EXPECT_EQ(seen, "show");
}

TEST_F(Control, LargeAnswerSurvivesPartialWrites) {
  std::string big(3 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4099)
    big[i] = static_cast<char>('a' + i % 26);
  auto server = open_server([&](const std::string&) { return big; });
  ASSERT_TRUE(server);
  OsResult<std::string> answer = OsError{"not run"};
  serve_while([&] {
    // A slow reader: the daemon cannot write it all at once.
    std::this_thread::sleep_for(milliseconds(10));
    answer = control_request(path_, "show", milliseconds(5000));
  });
  ASSERT_TRUE(answer.ok()) << answer.error();
  EXPECT_EQ(answer->size(), big.size());
  EXPECT_TRUE(*answer == big);
}

TEST_F(Control, StuckClientDoesNotBlockOthers) {
  int calls = 0;
  auto server = open_server([&](const std::string& req) {
    ++calls;
    return "ok " + req;
  });
  ASSERT_TRUE(server);
  // Connects and never sends its line.
  UniqueFd stuck(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, path_.c_str());
  ASSERT_EQ(::connect(stuck.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);

  OsResult<std::string> answer = OsError{"not run"};
  const auto start = std::chrono::steady_clock::now();
  serve_while([&] { answer = control_request(path_, "status", milliseconds(2000)); });
  ASSERT_TRUE(answer.ok()) << answer.error();
  EXPECT_EQ(*answer, "ok status");
  EXPECT_EQ(calls, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
}

TEST_F(Control, SecondDaemonIsRefused) {
  auto first = open_server([](const std::string&) { return std::string(); });
  ASSERT_TRUE(first);
  auto second = ControlServer::open(path_, *loop_, [](const std::string&) { return ""; });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(), path_ + ": another daemon is already running");
  // The refused one must not have removed the live socket.
  struct stat st {};
  EXPECT_EQ(::stat(path_.c_str(), &st), 0);
  first.reset();
  EXPECT_NE(::access(path_.c_str(), F_OK), 0) << "socket file should be removed";
}

TEST_F(Control, StaleSocketIsReplaced) {
  ASSERT_TRUE(std::filesystem::create_directories(dir_ + "/run/m6t"));
  {
    // What a killed daemon leaves: a socket file with nobody listening.
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strcpy(sa.sun_path, path_.c_str());
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  }
  auto server = open_server([](const std::string&) { return std::string("fresh"); });
  ASSERT_TRUE(server);
  OsResult<std::string> answer = OsError{"not run"};
  serve_while([&] { answer = control_request(path_, "show", milliseconds(2000)); });
  ASSERT_TRUE(answer.ok()) << answer.error();
  EXPECT_EQ(*answer, "fresh");
}

TEST_F(Control, RegularFileIsNeverRemoved) {
  ASSERT_TRUE(std::filesystem::create_directories(dir_ + "/run/m6t"));
  { UniqueFd f(::open(path_.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644)); }
  auto server = ControlServer::open(path_, *loop_, [](const std::string&) { return ""; });
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error(), path_ + ": exists and is not a socket");
  EXPECT_EQ(::access(path_.c_str(), F_OK), 0);
}

TEST_F(Control, DestructorLeavesAReplacementAlone) {
  auto server = open_server([](const std::string&) { return std::string(); });
  ASSERT_TRUE(server);
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  UniqueFd other(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, path_.c_str());
  ASSERT_EQ(::bind(other.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  server.reset();
  EXPECT_EQ(::access(path_.c_str(), F_OK), 0) << "another daemon's socket was removed";
}

TEST_F(Control, RequestToMissingDaemon) {
  auto answer = control_request(path_, "show", milliseconds(500));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error(), path_ + ": No such file or directory (is the daemon running?)");
}

TEST_F(Control, RequestTimesOutOnSilentDaemon) {
  ASSERT_TRUE(std::filesystem::create_directories(dir_ + "/run/m6t"));
  // Listens but never answers (a hung daemon).
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, path_.c_str());
  ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(s.get(), 4), 0);
  const auto start = std::chrono::steady_clock::now();
  auto answer = control_request(path_, "show", milliseconds(200));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error(), path_ + ": no answer within 200 ms");
  EXPECT_GE(took, milliseconds(190));
  EXPECT_LT(took, milliseconds(1500));
}

TEST_F(Control, OverlongPathIsRefused) {
  const std::string longpath = "/tmp/" + std::string(200, 'a');
  auto server = ControlServer::open(longpath, *loop_, [](const std::string&) { return ""; });
  ASSERT_FALSE(server.ok());
  EXPECT_TRUE(contains(server.error(), "not a usable socket path")) << server.error();
}

}  // namespace
}  // namespace m6t::os
