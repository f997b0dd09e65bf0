// The command line as a new user meets it: help, mistakes, and what the messages say.
#include "app/cli.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "app/commands.h"
#include "app/settings.h"
#include "core/gateway_engine.h"
#include "support/fake_random.h"

namespace m6t::app {
namespace {

struct Output {
  int status;
  std::string out;
  std::string err;
};

Output run(std::vector<std::string> args) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int status = run_cli(args);
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  return {status, out, err};
}

// The line of `--help` that describes --name (with its continuation lines).
std::string help_entry(const std::string& help, const std::string& name) {
  std::istringstream in(help);
  std::string entry;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  --" + name + " ", 0) == 0 || line == "  --" + name) {
      inside = true;
      entry = line;
    } else if (inside && line.rfind("                          ", 0) == 0) {
      entry += " " + line.substr(26);
    } else if (inside) {
      break;
    }
  }
  return entry;
}

std::int64_t ms(core::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}
std::int64_t secs(core::Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

TEST(Cli, HelpShowsTheDefaultsTheEngineUses) {
  // The engine as a daemon without options would build it.
  testing::FakeRandom rng;
  core::GatewayConfig none;
  none.states.max_states = 16;  // small: only its other fields are compared
  core::GatewayEngine engine(none, rng);
  const core::GatewayConfig defaults = core::GatewayConfig{};
  const std::string help = run({"gateway", "--help"}).out;
  auto shows = [&](const std::string& name, auto value) {
    EXPECT_NE(help_entry(help, name).find("default " + std::to_string(value) + "]"),
              std::string::npos)
        << help_entry(help, name);
  };
  shows("mtu", engine.config().mtu);
  shows("temp-lifetime-ms", ms(engine.states().config().temp_lifetime));
  shows("active-lifetime-s", secs(engine.states().config().active_lifetime));
  shows("pmtu-age-s", secs(engine.config().pmtu_age));
  shows("rate", static_cast<long long>(engine.config().creation_rate.rate_per_s));
  shows("burst", engine.config().creation_rate.burst);
  shows("max-states", defaults.states.max_states);
  shows("max-temp-states", defaults.states.max_temp_states);

  core::ClientConfig c;
  const std::string client_help = run({"client", "--help"}).out;
  auto client_shows = [&](const std::string& name, auto value) {
    EXPECT_NE(help_entry(client_help, name).find("default " + std::to_string(value) + "]"),
              std::string::npos)
        << help_entry(client_help, name);
  };
  client_shows("keepalive-s", secs(c.keepalive_interval));
  client_shows("keepalive-misses", c.max_unanswered);
  client_shows("debounce-ms", ms(c.debounce));
  client_shows("backoff-max-s", secs(c.backoff_max));
  client_shows("mtu", c.mtu);
}

TEST(Cli, EveryDaemonOptionIsInTheHelpWithItsTableDescription) {
  const std::string help = run({"gateway", "--help"}).out;
  for (const auto& o : gateway_options().options())
    EXPECT_NE(help_entry(help, o.spec.name), "") << o.spec.name;
  const std::string client_help = run({"client", "--help"}).out;
  for (const auto& o : client_options().options())
    EXPECT_NE(help_entry(client_help, o.spec.name), "") << o.spec.name;
}

TEST(Cli, HelpFitsEightyColumnsMarksRequiredAndShowsNoParserArtefacts) {
  for (const char* sub : {"gateway", "client", "show", "prefix", "check-config", "help"}) {
    Output r = run({"help", sub});
    EXPECT_EQ(r.status, kExitOk) << sub;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      std::size_t cols = 0;
      for (unsigned char ch : line)
        cols += (ch & 0xc0) != 0x80;
      EXPECT_LE(cols, 80u) << sub << ": " << line;
      EXPECT_FALSE(std::regex_search(line, std::regex(R"(\bTEXT\b|REQUIRED|:INT|:UINT|in \[)")))
          << sub << ": " << line;
    }
  }
  const std::string help = run({"gateway", "--help"}).out;
  for (const char* required : {"listen", "prefix", "home-agent"})
    EXPECT_NE(help_entry(help, required).find("[required]"), std::string::npos) << required;
  EXPECT_EQ(help_entry(help, "mtu").find("required"), std::string::npos);
}

TEST(Cli, HelpAndUnknownSubcommandsNameTheSubcommand) {
  Output help = run({"help"});
  EXPECT_EQ(help.status, kExitOk);
  for (const char* sub : {"gateway", "client", "show", "prefix", "check-config"})
    EXPECT_NE(help.out.find("  " + std::string(sub) + " "), std::string::npos) << sub;
  Output unknown = run({"shwo"});
  EXPECT_EQ(unknown.status, kExitUsage);
  EXPECT_EQ(unknown.err, "m6t: unknown subcommand 'shwo' (did you mean 'show'?); see m6t help\n");
  Output none = run({});
  EXPECT_EQ(none.status, kExitUsage);
  EXPECT_NE(none.err.find("no subcommand given"), std::string::npos) << none.err;
  EXPECT_EQ(run({"help", "gatewya"}).err,
            "m6t help: no subcommand 'gatewya' (did you mean 'gateway'?); see m6t help\n");
  EXPECT_NE(run({"help", "client"}).out.find("Usage: m6t client"), std::string::npos);
}

TEST(Cli, MistypedLongOptionGetsDidYouMean) {
  Output r = run({"gateway", "--prefx", "fd00::/48"});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_EQ(r.err,
            "m6t gateway: unknown option --prefx (did you mean '--prefix'?); see m6t help "
            "gateway\n");
  EXPECT_NE(run({"client", "--keepalive=5"}).err.find("did you mean '--keepalive-s'"),
            std::string::npos);
  EXPECT_NE(run({"gateway", "stray"}).err.find("unexpected argument 'stray'"), std::string::npos);
}

TEST(Cli, AnOptionGivenTwiceIsSaidInWords) {
  Output r = run({"gateway", "--mtu", "1400", "--mtu", "1300"});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_EQ(r.err, "m6t gateway: --mtu given twice (1400, then 1300); it takes one value\n");
  EXPECT_EQ(run({"gateway", "--mtu"}).err,
            "m6t gateway: --mtu needs a value; see m6t help gateway\n");
}

TEST(Cli, APortOutOfRangeSaysPort) {
  Output r = run({"gateway", "--listen", "203.0.113.2:70000", "--prefix", "fd00:db8:1::/48",
                  "--home-agent", "2001:db8:1::2"});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_EQ(r.err,
            "m6t gateway: --listen 203.0.113.2:70000: port is not a number from 1 to 65535\n");
  EXPECT_EQ(run({"prefix", "--subnet", "70000"}).err,
            "m6t prefix: --subnet 70000: not a whole number from 0 to 65535\n");
}

TEST(Cli, PrefixGivesASliceAndAnMnInsideIt) {
  Output slice = run({"prefix", "--ula", "fd00:db8:1::/48", "--slice-bits", "4", "--slice", "3"});
  EXPECT_EQ(slice.status, kExitOk);
  EXPECT_EQ(slice.out, "fd00:db8:1:3000::/52\n");
  Output mn = run({"prefix", "--ula", "fd00:db8:1::/48", "--slice-bits", "4", "--slice", "3",
                   "--subnet", "5", "--mn-id", "1"});
  EXPECT_EQ(mn.out, "fd00:db8:1:3005:1::/80\n");
  Output past = run({"prefix", "--ula", "fd00:db8:1::/48", "--slice-bits", "4", "--slice", "3",
                     "--subnet", "4096", "--mn-id", "1"});
  EXPECT_EQ(past.status, kExitUsage);
  EXPECT_EQ(past.err,
            "m6t prefix: --slice 3 --subnet 4096: a slice of 4 bits has slices 0 to 15 of "
            "subnets 0 to 4095\n");
  EXPECT_EQ(run({"prefix", "--slice", "3"}).status, kExitUsage);
  EXPECT_EQ(run({"prefix", "--slice-bits", "16", "--slice", "0"}).err,
            "m6t prefix: --slice-bits 16: not a whole number from 0 to 15\n");
}

TEST(Cli, AConfigFileThatCannotBeReadSaysWhy) {
  Output r = run({"client", "--config", "/nonexistent/m6t.toml"});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_EQ(r.err, "m6t client: /nonexistent/m6t.toml: No such file or directory\n");
  Output c = run({"check-config", "/nonexistent/m6t.toml"});
  EXPECT_EQ(c.err, "m6t check-config: /nonexistent/m6t.toml: No such file or directory\n");
}

class CheckConfig : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    path_ = ::testing::TempDir() + "m6t_cli_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
    std::ofstream(path_) << text;
    return path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(CheckConfig, ChecksWhatTheDaemonChecksAtStart) {
  const std::string base =
      "[gateway]\nlisten = [\"203.0.113.2:4500\"]\nprefix = \"fd00:db8:1::/48\"\n"
      "home-agent = \"2001:db8:1::2\"\ncontrol = \"/tmp/m6t-cli-test.sock\"\n";
  Output ok = run({"check-config", write(base)});
  EXPECT_EQ(ok.status, kExitOk) << ok.err;
  Output user = run({"check-config", write(base + "user = \"m6t-no-such-user\"\n")});
  EXPECT_EQ(user.status, kExitUsage);
  EXPECT_EQ(user.err, "m6t check-config: " + path_ +
                          ": --user m6t-no-such-user: no such user 'm6t-no-such-user'\n");
  Output dir = run({"check-config", write("[client]\ngateway = \"203.0.113.2:4500\"\n"
                                          "prefix = \"fd00:db8:1:0:1::/80\"\n"
                                          "control = \"/nonexistent/dir/c.sock\"\n")});
  EXPECT_EQ(dir.status, kExitUsage);
  EXPECT_NE(dir.err.find("directory /nonexistent/dir does not exist"), std::string::npos)
      << dir.err;
  Output hook = run({"check-config", write("[client]\ngateway = \"203.0.113.2:4500\"\n"
                                           "prefix = \"fd00:db8:1:0:1::/80\"\n"
                                           "hook = \"/nonexistent/hook\"\n")});
  EXPECT_EQ(hook.status, kExitUsage);
  EXPECT_NE(hook.err.find("--hook /nonexistent/hook: No such file or directory"), std::string::npos)
      << hook.err;
}

}  // namespace
}  // namespace m6t::app
