#include "app/settings.h"
#include "app/reload.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace m6t::app {
namespace {

std::int64_t ms(core::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}
std::int64_t secs(core::Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

RawOptions cli(std::initializer_list<std::pair<std::string, std::vector<std::string>>> kv) {
  RawOptions r;
  for (auto& [k, v] : kv)
    r[k] = RawValue{v, "--" + k};
  return r;
}

RawOptions gateway_minimum() {
  return cli({{"listen", {"203.0.113.2:4500"}},
              {"prefix", {"fd00:db8:1::/48"}},
              {"home-agent", {"2001:db8:1::2"}}});
}

std::string error_of(const RawOptions& raw) {
  GatewaySettings g;
  auto e = validate(raw, g);
  return e ? e->message : "";
}

TEST(GatewaySettings, MinimumGivesTheDraftDefaults) {
  GatewaySettings g;
  ASSERT_FALSE(validate(gateway_minimum(), g));
  EXPECT_EQ(g.engine.mtu, 1472u);
  EXPECT_EQ(ms(g.engine.states.temp_lifetime), 1000);
  EXPECT_EQ(secs(g.engine.states.active_lifetime), 90);
  EXPECT_EQ(g.tun, "m6tgw0");
  EXPECT_EQ(g.control, "/run/m6t/gateway-m6tgw0.sock");
}

TEST(GatewaySettings, ErrorsNameTheOptionAndTheValue) {
  auto r = gateway_minimum();
  r["listen"] = RawValue{{"203.0.113.2"}, "--listen"};
  EXPECT_EQ(error_of(r), "--listen 203.0.113.2: missing :PORT (ADDR:PORT, e.g. 203.0.113.2:4500)");
  r["listen"] = RawValue{{"203.0.113.2:70000"}, "--listen"};
  EXPECT_EQ(error_of(r), "--listen 203.0.113.2:70000: port is not a number from 1 to 65535");
  r = gateway_minimum();
  r["mtu"] = RawValue{{"1000"}, "--mtu"};
  EXPECT_EQ(error_of(r), "--mtu 1000: not a whole number from 1280 to 65507");
  r = gateway_minimum();
  r["prefix"] = RawValue{{"fd00:db8:1::1/48"}, "--prefix"};
  EXPECT_EQ(error_of(r),
            "--prefix fd00:db8:1::1/48: address has bits set beyond the prefix length");
  r = gateway_minimum();
  r["home-agent"] = RawValue{{"fd00:db8:1::2"}, "--home-agent"};
  EXPECT_EQ(error_of(r), "--home-agent fd00:db8:1::2: inside the MN prefix fd00:db8:1::/48");
  r = gateway_minimum();
  r.erase("home-agent");
  EXPECT_EQ(error_of(r), "missing --home-agent (or 'home-agent' in the config file)");
  r = gateway_minimum();
  r["tun"] = RawValue{{"a-name-far-too-long"}, "--tun"};
  EXPECT_NE(error_of(r).find("not an interface name"), std::string::npos);
}

TEST(ClientSettings, PrefixMustBeA80) {
  ClientSettings c;
  auto r = cli({{"gateway", {"203.0.113.2:4500"}}, {"prefix", {"fd00:db8:1::/64"}}});
  auto e = validate(r, c);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("must be a /80"), std::string::npos);
  r["prefix"] = RawValue{{"fd00:db8:1:0:1::/80"}, "--prefix"};
  EXPECT_FALSE(validate(r, c));
  EXPECT_EQ(secs(c.engine.keepalive_interval), 30) << "§2.3 default";
  EXPECT_TRUE(c.default_route);
  r["no-default-route"] = RawValue{{"true"}, "--no-default-route"};
  ASSERT_FALSE(validate(r, c));
  EXPECT_FALSE(c.default_route);
}

TEST(ClientSettings, MobilityTimersReachTheEngine) {
  ClientSettings c;
  auto r = cli({{"gateway", {"203.0.113.2:4500"}}, {"prefix", {"fd00:db8:1:0:1::/80"}}});
  ASSERT_FALSE(validate(r, c));
  EXPECT_EQ(c.engine.max_unanswered, 3u);
  EXPECT_EQ(ms(c.engine.debounce), 250);
  EXPECT_EQ(secs(c.engine.backoff_max), 64);
  r["keepalive-misses"] = RawValue{{"5"}, "--keepalive-misses"};
  r["debounce-ms"] = RawValue{{"0"}, "--debounce-ms"};
  r["backoff-max-s"] = RawValue{{"8"}, "--backoff-max-s"};
  ASSERT_FALSE(validate(r, c));
  EXPECT_EQ(c.engine.max_unanswered, 5u);
  EXPECT_EQ(ms(c.engine.debounce), 0);
  EXPECT_EQ(secs(c.engine.backoff_max), 8);
  r["keepalive-misses"] = RawValue{{"0"}, "--keepalive-misses"};
  auto e = validate(r, c);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "--keepalive-misses 0: not a whole number from 1 to 100");
}

class ConfigFile : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    // Per process and test: ctest runs these tests in parallel, and other checkouts too.
    path_ = ::testing::TempDir() + "m6t_settings_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
    std::ofstream(path_) << text;
    return path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(ConfigFile, EveryOptionHasAConfigForm) {
  auto path = write(R"([gateway]
listen = ["203.0.113.2:4500", "203.0.113.2:53"]
prefix = "fd00:db8:1::/48"
home-agent = ["2001:db8:1::2"]
tun = "gw7"
mtu = 1400
pmtu-discovery = true
pmtu_age_s = 120
temp-lifetime-ms = 250
active_lifetime_s = 60
rate = 5
burst = 7
max-states = 1000
max-temp-states = 100
control = "/tmp/x.sock"
control-group = "adm"
metrics-listen = "127.0.0.1:9464"
user = "m6t"
log-level = "debug"
log-target = "syslog"
fast-path = "off"
state-dir = ""
state-save-s = 2
announce = ["203.0.113.2,fd00:db8:1::/52"]
announce-table = 100
drain-ms = 250
)");
  RawOptions raw;
  ASSERT_FALSE(load_config(path, "gateway", gateway_options().specs(), raw));
  EXPECT_EQ(raw.size(), gateway_options().options().size()) << "one key per option";
  GatewaySettings g;
  ASSERT_FALSE(validate(raw, g));
  EXPECT_EQ(g.listen.size(), 2u);
  EXPECT_EQ(g.tun, "gw7");
  EXPECT_EQ(g.engine.mtu, 1400u);
  EXPECT_TRUE(g.engine.pmtu_discovery);
  EXPECT_EQ(secs(g.engine.pmtu_age), 120);
  EXPECT_EQ(ms(g.engine.states.temp_lifetime), 250);
  EXPECT_EQ(secs(g.engine.states.active_lifetime), 60);
  EXPECT_EQ(g.engine.creation_rate.burst, 7u);
  EXPECT_EQ(g.engine.states.max_temp_states, 100u);
  EXPECT_EQ(g.user, "m6t");
  EXPECT_EQ(g.log_level, "debug");
  EXPECT_EQ(g.log_target, "syslog");
  EXPECT_EQ(g.control_group, "adm");
  ASSERT_TRUE(g.metrics_listen.has_value());
  EXPECT_EQ(g.metrics_listen->to_string(), "127.0.0.1:9464");
  EXPECT_EQ(g.fast_path, FastPathMode::kOff);
  EXPECT_EQ(g.state_dir, "");  // empty: no saved states
  EXPECT_EQ(g.state_save, std::chrono::seconds(2));
  ASSERT_EQ(g.announce.size(), 1u);
  EXPECT_EQ(g.announce_table, 100u);
  EXPECT_EQ(g.drain, std::chrono::milliseconds(250));
}

// Reload (reload.h): the file read again, what a reload applies applied, the rest named.
class Reload : public ConfigFile {
 protected:
  ConfigReload<GatewaySettings> start(const std::string& text, GatewaySettings& running) {
    path_ = write(text);
    auto read = [this](RawOptions& out) {
      return load_config(path_, "gateway", gateway_options().specs(), out);
    };
    RawOptions raw;
    EXPECT_FALSE(read(raw));
    EXPECT_FALSE(validate(raw, running));
    return ConfigReload<GatewaySettings>(gateway_options(), read, raw, path_);
  }
  void rewrite(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }
  std::string path_;
};

constexpr const char* kBase = R"([gateway]
listen = ["203.0.113.2:4500"]
prefix = "fd00:db8:1::/48"
home-agent = ["2001:db8:1::2"]
rate = 10
)";

TEST_F(Reload, AppliesWhatCanChangeAndNamesWhatWaitsForARestart) {
  GatewaySettings running;
  auto reload = start(kBase, running);
  rewrite(R"([gateway]
listen = ["203.0.113.2:4500"]
prefix = "fd00:db8:2::/48"
home-agent = ["2001:db8:1::2", "2001:db8:1::3"]
rate = 50
mtu = 1400
)");
  auto r = reload.reload(running);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.applied, (std::vector<std::string>{"home-agent", "rate"}));
  EXPECT_EQ(r.needs_restart, (std::vector<std::string>{"mtu", "prefix"}));
  EXPECT_EQ(r.settings.engine.home_agents.size(), 2u);
  EXPECT_EQ(r.settings.engine.creation_rate.rate_per_s, 50);
  // What waits for a restart keeps its running value, and is named again next time.
  EXPECT_EQ(r.settings.engine.mtu, running.engine.mtu);
  EXPECT_EQ(r.settings.engine.mn_prefix.to_string(), "fd00:db8:1::/48");
  auto again = reload.reload(r.settings);
  ASSERT_FALSE(again.error);
  EXPECT_TRUE(again.applied.empty());
  EXPECT_EQ(again.needs_restart, (std::vector<std::string>{"mtu", "prefix"}));
}

TEST_F(Reload, ABadFileChangesNothing) {
  GatewaySettings running;
  auto reload = start(kBase, running);
  const auto loaded = reload.loaded_at();
  rewrite(std::string(kBase) + "rate = 0\n");  // a duplicate key: a TOML error
  auto r = reload.reload(running);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->message.find('\n'), std::string::npos);
  rewrite(R"([gateway]
listen = ["203.0.113.2:4500"]
prefix = "fd00:db8:1::/48"
home-agent = ["2001:db8:1::2"]
rate = 0
)");
  r = reload.reload(running);
  ASSERT_TRUE(r.error);
  EXPECT_NE(r.error->message.find("rate"), std::string::npos) << r.error->message;
  EXPECT_EQ(r.settings.engine.creation_rate.rate_per_s, 10);
  EXPECT_EQ(reload.loaded_at(), loaded);
}

TEST_F(Reload, AValueSpelledOutAsItsDefaultIsNoChange) {
  GatewaySettings running;
  auto reload = start(kBase, running);
  rewrite(std::string(kBase) + "mtu = 1472\nburst = 20\n");
  auto r = reload.reload(running);
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.applied.empty());
  EXPECT_TRUE(r.needs_restart.empty());
}

TEST(Settings, AGatewayIsAnAddressOrAHostNameWithAPort) {
  ClientSettings c;
  RawOptions raw{
      {"gateway", {{"gw.example.org:4500", "203.0.113.2:53", "gw-2.example:3544"}, "--gateway"}},
      {"prefix", {{"fd00:db8:1:0:1::/80"}, "--prefix"}}};
  ASSERT_FALSE(validate(raw, c));
  ASSERT_EQ(c.gateway_specs.size(), 3u);
  EXPECT_EQ(c.gateway_specs[0].host, "gw.example.org");
  EXPECT_FALSE(c.gateway_specs[0].literal);
  EXPECT_EQ(c.gateway_specs[2].port, 3544);
  // The engine starts with the addresses known: the literal one.
  ASSERT_EQ(c.engine.gateways.size(), 1u);
  EXPECT_EQ(c.engine.gateways[0].to_string(), "203.0.113.2:53");
  for (const char* bad : {"203.0.113:4500", "gw_1.example:4500", "-gw.example:1", "gw.example",
                          "gw.example:0", "127.0.0.1:4500", "a..b:1"}) {
    raw["gateway"] = {{bad}, "--gateway"};
    EXPECT_TRUE(validate(raw, c)) << bad;
  }
}

TEST_F(ConfigFile, ClientFlagsAndListsToo) {
  auto path = write(R"([client]
gateway = ["203.0.113.2:4500"]
prefix = "fd00:db8:1:0:1::/80"
no-default-route = true
keepalive-s = 4
uplink = "wlan0"
route-metric = 100
pmtu-discovery = true
pmtu-age-s = 30
)");
  RawOptions raw;
  ASSERT_FALSE(load_config(path, "client", client_options().specs(), raw));
  ClientSettings c;
  ASSERT_FALSE(validate(raw, c));
  EXPECT_TRUE(c.engine.pmtu_discovery);
  EXPECT_EQ(secs(c.engine.pmtu_age), 30);
  EXPECT_FALSE(c.default_route);
  EXPECT_EQ(secs(c.engine.keepalive_interval), 4);
  EXPECT_EQ(c.uplink, "wlan0");
  EXPECT_EQ(c.route_metric, 100u);
}

// Found by fuzz/fuzz_settings.cc: the TOML parser quotes the input back, newline included,
// and a quoted value reaches the validators' messages as it is; an error stays one line.
TEST_F(ConfigFile, ErrorsStayOneLineWhateverTheFileHolds) {
  auto path = write("[gateway]\nlisten = tru\n");
  RawOptions raw;
  auto e = load_config(path, "gateway", gateway_options().specs(), raw);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message.find('\n'), std::string::npos) << e->message;
  EXPECT_NE(e->message.find("\\n"), std::string::npos) << e->message;

  path = write("[gateway]\nlisten = [\"203.0.113.2:4500\"]\nprefix = \"fd00::\\n\\u001b[31m\"\n");
  raw.clear();
  ASSERT_FALSE(load_config(path, "gateway", gateway_options().specs(), raw));
  GatewaySettings g;
  e = validate(raw, g);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, path + ":3: prefix = \"fd00::\\n\\x1b[31m\": missing /LENGTH")
      << e->message;
}

TEST(Settings, PathMtuModeIsOffByDefaultAndItsAgeIsBounded) {
  RawOptions r;
  r["listen"] = RawValue{{"203.0.113.2:4500"}, "--listen"};
  r["prefix"] = RawValue{{"fd00:db8:1::/48"}, "--prefix"};
  r["home-agent"] = RawValue{{"2001:db8:1::2"}, "--home-agent"};
  GatewaySettings g;
  ASSERT_FALSE(validate(r, g));
  EXPECT_FALSE(g.engine.pmtu_discovery);
  EXPECT_EQ(secs(g.engine.pmtu_age), 600);
  r["pmtu-age-s"] = RawValue{{"0"}, "--pmtu-age-s"};
  auto e = validate(r, g);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "--pmtu-age-s 0: not a whole number from 1 to 86400");
}

TEST_F(ConfigFile, ErrorsGiveFileAndLine) {
  auto path = write("[gateway]\nlisten = [\"203.0.113.2:4500\"]\nprefx = \"fd00::/48\"\n");
  RawOptions raw;
  auto e = load_config(path, "gateway", gateway_options().specs(), raw);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, path + ":3: unknown key 'prefx' in [gateway] (did you mean 'prefix'?)");

  path = write("[gateway]\nlisten = [\"203.0.113.2\"]\nprefix = \"fd00::/48\"\n");
  raw.clear();
  ASSERT_FALSE(load_config(path, "gateway", gateway_options().specs(), raw));
  GatewaySettings g;
  e = validate(raw, g);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, path +
                            ":2: listen = \"203.0.113.2\": missing :PORT (ADDR:PORT, e.g. "
                            "203.0.113.2:4500)");

  path = write("[gateway]\nmtu = [1, 2]\n");
  raw.clear();
  e = load_config(path, "gateway", gateway_options().specs(), raw);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, path + ":2: mtu: takes one value, not a list");

  path = write("[gateway\n");
  raw.clear();
  e = load_config(path, "gateway", gateway_options().specs(), raw);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message.rfind(path + ":1: ", 0), 0u) << e->message;
}

TEST_F(ConfigFile, CommandLineWinsOverTheFile) {
  auto path = write(
      "[gateway]\nlisten = [\"203.0.113.2:4500\"]\nprefix = \"fd00:db8:1::/48\"\n"
      "home-agent = \"2001:db8:1::2\"\nmtu = 1400\n");
  RawOptions raw;
  ASSERT_FALSE(load_config(path, "gateway", gateway_options().specs(), raw));
  GatewaySettings g;
  ASSERT_FALSE(validate(merge(raw, cli({{"mtu", {"1300"}}})), g));
  EXPECT_EQ(g.engine.mtu, 1300u);
  EXPECT_EQ(g.listen.size(), 1u);
}

TEST_F(ConfigFile, SectionsAreFound) {
  auto path = write("[gateway]\n[client]\n");
  std::vector<std::string> s;
  ASSERT_FALSE(config_sections(path, s));
  std::sort(s.begin(), s.end());
  EXPECT_EQ(s, (std::vector<std::string>{"client", "gateway"}));
  path = write("[gatway]\n");
  s.clear();
  auto e = config_sections(path, s);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("unknown table 'gatway'"), std::string::npos);
}

}  // namespace
}  // namespace m6t::app

namespace m6t::app {
namespace {

// The example files show the defaults: they must be the table's (hence the engine's), so that
// a default changed in one place cannot leave the examples telling another story.
template <class S>
void expect_example_matches_defaults(const std::string& file, const std::string& section,
                                     const OptionTable<S>& table) {
  RawOptions raw;
  const std::string path = std::string(M6T_SOURCE_DIR) + "/examples/" + file;
  ASSERT_FALSE(load_config(path, section, table.specs(), raw)) << path;
  ASSERT_FALSE(raw.empty());
  for (const auto& [key, value] : raw) {
    const Option<S>* o = table.find(key);
    ASSERT_NE(o, nullptr) << key;
    if (o->spec.required || !o->show) continue;
    EXPECT_EQ(value.values.back(), o->show(S{})) << file << ": " << key;
  }
  S settings;
  EXPECT_FALSE(validate(raw, settings)) << file;
}

TEST(Examples, ShowTheDefaultsOfTheTable) {
  expect_example_matches_defaults("gateway.toml", "gateway", gateway_options());
  expect_example_matches_defaults("client.toml", "client", client_options());
}

TEST(Settings, AnnouncedSlicesMustLieInThePrefixOnAListenAddressWithATable) {
  auto gw = [](std::vector<std::string> extra) {
    RawOptions raw;
    raw["listen"] = {{"203.0.113.10:4500", "203.0.113.11:4500"}, "--listen"};
    raw["prefix"] = {{"fd00:db8:1::/48"}, "--prefix"};
    raw["home-agent"] = {{"2001:db8:1::2"}, "--home-agent"};
    for (std::size_t i = 0; i + 1 < extra.size(); i += 2) {
      auto& v = raw[extra[i]];
      v.values.push_back(extra[i + 1]);
      v.origin = "--" + extra[i];
    }
    GatewaySettings g;
    auto e = validate(raw, g);
    return std::pair{e ? e->message : std::string(), g};
  };
  auto [ok, g] =
      gw({"announce", "203.0.113.10,fd00:db8:1::/52", "announce",
          "203.0.113.11,fd00:db8:1:1000::/52", "announce-table", "100", "drain-ms", "500"});
  EXPECT_EQ(ok, "");
  ASSERT_EQ(g.announce.size(), 2u);
  EXPECT_EQ(g.announce[1].part.to_string(), "fd00:db8:1:1000::/52");
  EXPECT_EQ(g.announce_table, 100u);
  EXPECT_EQ(g.drain, std::chrono::milliseconds(500));
  EXPECT_NE(gw({"announce", "203.0.113.10,fd00:db8:1::/52"}).first.find("--announce-table"),
            std::string::npos);
  EXPECT_NE(gw({"announce", "203.0.113.10,fd00:db8:1::/52", "announce-table", "254"})
                .first.find("not main"),
            std::string::npos);
  EXPECT_NE(gw({"announce", "203.0.113.10,fd00:db8:2::/52", "announce-table", "100"})
                .first.find("not inside the MN prefix"),
            std::string::npos);
  EXPECT_NE(gw({"announce", "203.0.113.12,fd00:db8:1::/52", "announce-table", "100"})
                .first.find("does not listen on 203.0.113.12"),
            std::string::npos);
  EXPECT_NE(gw({"announce", "203.0.113.10 fd00:db8:1::/52", "announce-table", "100"})
                .first.find("not ADDR,PREFIX"),
            std::string::npos);
}

}  // namespace
}  // namespace m6t::app
