#include "os/process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace m6t::os {
namespace {

using namespace std::chrono_literals;

class Process : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/m6t-process-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string read(const std::string& name) {
    std::ifstream f(dir_ + "/" + name);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  std::unique_ptr<ProcessRunner> runner_ = make_process_runner();
  std::string dir_;
};

TEST_F(Process, TheChildGetsExactlyTheGivenEnvironmentAndArguments) {
  auto pid = runner_->spawn({"/bin/sh",
                             {"-c", "env | sort > \"$OUT\"; echo \"$0 $1\" > \"$OUT.args\"", "up"},
                             {"OUT=" + dir_ + "/env", "M6T_STATE=up", "PATH=/usr/bin:/bin"}});
  ASSERT_TRUE(pid) << pid.error();
  auto st = runner_->wait(*pid, 5000ms);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << describe_wait_status(*st);
  std::string env = read("env");
  EXPECT_NE(env.find("M6T_STATE=up\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("HOME="), std::string::npos) << "the daemon's environment leaked: " << env;
  EXPECT_EQ(read("env.args"), "up \n");
}

// The daemon reads its signals through a signalfd, with them blocked; a hook inheriting that
// mask would ignore SIGTERM from its own scripts.
TEST_F(Process, TheChildStartsWithNoBlockedSignalsInAGroupOfItsOwn) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, &set, &old), 0);
  auto pid =
      runner_->spawn({"/bin/sh",
                      {"-c",
                       "grep SigBlk /proc/self/status > \"$OUT\"; ps -o pgid= -p $$ "
                       ">> \"$OUT\" 2>/dev/null || cut -d' ' -f5 /proc/self/stat >> \"$OUT\""},
                      {"OUT=" + dir_ + "/st", "PATH=/usr/bin:/bin"}});
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(pid) << pid.error();
  ASSERT_TRUE(runner_->wait(*pid, 5000ms));
  std::string st = read("st");
  EXPECT_NE(st.find("SigBlk:\t0000000000000000"), std::string::npos) << st;
  EXPECT_NE(st.find(std::to_string(*pid)), std::string::npos) << "own process group: " << st;
}

TEST_F(Process, KillEndsTheChildAndItsChildren) {
  auto pid = runner_->spawn(
      {"/bin/sh", {"-c", "sleep 60 & echo $! > \"$OUT\"; wait"}, {"OUT=" + dir_ + "/grandchild"}});
  ASSERT_TRUE(pid) << pid.error();
  for (int i = 0; i < 500 && read("grandchild").empty(); ++i)
    ::usleep(10000);
  int grandchild = std::atoi(read("grandchild").c_str());
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(runner_->reap(*pid)) << "still running";
  runner_->kill(*pid);
  auto st = runner_->wait(*pid, 5000ms);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGKILL) << describe_wait_status(*st);
  // The grandchild was reparented and killed with the group: gone, or a zombie of init.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string s;
    std::getline(stat, s);
    gone = s.empty() || s.find(") Z") != std::string::npos;
    if (!gone) ::usleep(10000);
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived the kill";
}

TEST_F(Process, AMissingProgramIsAnErrorNamingIt) {
  auto pid = runner_->spawn({dir_ + "/no-such-hook", {}, {}});
  if (pid) {  // glibc's posix_spawn reports exec failure through the child: exit status 127
    auto st = runner_->wait(*pid, 5000ms);
    ASSERT_TRUE(st);
    EXPECT_EQ(describe_wait_status(*st), "exit status 127");
  } else {
    EXPECT_NE(pid.error().find("no-such-hook"), std::string::npos) << pid.error();
  }
}

TEST(WaitStatus, DescribesExitsAndSignals) {
  EXPECT_EQ(describe_wait_status(3 << 8), "exit status 3");
  EXPECT_EQ(describe_wait_status(SIGKILL), "killed by signal 9 (Killed)");
}

}  // namespace
}  // namespace m6t::os
