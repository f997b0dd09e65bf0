#include "app/gateway_daemon.h"

#include <charconv>
#include <chrono>

#include "app/status_model.h"

namespace m6t::app {

GatewayDaemon::GatewayDaemon(const GatewaySettings& settings, core::RandomSource& rng,
                             os::TunDevice& tun,
                             std::vector<std::unique_ptr<os::UdpSocket>> sockets, const Logger& log,
                             core::Time now)
    : settings_(settings),
      engine_(settings.engine, rng),
      sockets_(std::move(sockets)),
      log_(log),
      started_(now),
      datapath_(engine_, tun, sockets_, drops_) {}

namespace {
std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void GatewayDaemon::on_timer(core::Time now) {
  engine_.expire(now);
  drops_.report(engine_.counters().drops, now, log_);
  if (store_ && now >= next_save_) save_states(now);
}

void GatewayDaemon::use_state_store(StateStore& store, core::Time now) {
  store_ = &store;
  next_save_ = now + settings_.state_save;
  // Any file a gateway of ours can have written is read (a lower --max-states than at the
  // save restores as many as fit, and counts the rest).
  auto loaded = store.load(wire::kMaxStatesLimit);
  if (auto* why = std::get_if<std::string>(&loaded)) {
    // A missing file is the first start (or a clean purge); anything else deserves a look.
    if (why->ends_with(": no saved states"))
      log_.info(*why);
    else
      log_.warn(*why, ": starting with no state");
    return;
  }
  const auto& saved = std::get<core::StateSnapshot>(loaded);
  std::vector<core::Endpoint4> listeners;
  for (const auto& sock : sockets_)
    listeners.push_back(sock ? sock->local_endpoint() : core::Endpoint4{});
  const std::int64_t now_wall = wall_ms();
  const core::RestoreCounts n = engine_.restore(saved, listeners, now_wall, now);
  log_.info("restored ", n.restored, " active state(s) of ", saved.states.size(), " from ",
            store.path(), " (saved ", std::max<std::int64_t>(0, now_wall - saved.saved_at_unix_ms),
            " ms ago; ", n.expired, " expired meanwhile, ", n.foreign,
            " not for this prefix or listen address, ", n.duplicate, " duplicate, ", n.full,
            " beyond --max-states)");
}

void GatewayDaemon::save_states(core::Time now) {
  next_save_ = now + settings_.state_save;
  store_->save_async(engine_.snapshot(now, wall_ms(), /*fold=*/false));
  if (auto e = store_->take_error()) log_.warn("saving the active states: ", *e);
}

os::OsStatus GatewayDaemon::reconfigure(const GatewaySettings& next) {
  const std::vector<core::Ipv6Addr> before = engine_.config().home_agents;
  engine_.reconfigure(next.engine);
  settings_.engine = engine_.config();
  settings_.log_level = next.log_level;
  if (fast_) return fast_->set_home_agents(before, engine_.config().home_agents);
  return os::Ok{};
}

std::size_t GatewayDaemon::add_listener(std::unique_ptr<os::UdpSocket> socket) {
  const core::Endpoint4 local = socket->local_endpoint();
  sockets_.push_back(std::move(socket));
  datapath_.listeners_changed();
  const std::size_t index = sockets_.size() - 1;
  if (fast_) fast_->set_listener(static_cast<std::uint32_t>(index), local);
  return index;
}

std::size_t GatewayDaemon::remove_listener(std::size_t listener) {
  const core::Endpoint4 local = sockets_[listener]->local_endpoint();
  if (fast_) fast_->clear_listener(local);
  const std::size_t n = engine_.remove_listener(static_cast<std::uint16_t>(listener));
  sockets_[listener].reset();
  datapath_.listeners_changed();
  return n;
}

void GatewayDaemon::shutdown(core::Time now) {
  drops_.flush(engine_.counters().drops, now, log_);
  if (!store_) return;
  const core::StateSnapshot s = engine_.snapshot(now, wall_ms());
  if (auto st = store_->save_now(s); !st)
    log_.warn("saving the active states: ", st.error());
  else
    log_.info("saved ", s.states.size(), " active state(s) to ", store_->path());
  store_ = nullptr;
}

core::Deadline GatewayDaemon::next_deadline() const {
  core::Deadline d = core::earliest(engine_.next_deadline(), drops_.next_deadline());
  return store_ ? core::earliest(d, next_save_) : d;
}

void GatewayDaemon::use_fast_path(std::unique_ptr<os::GatewayFastPath> fast,
                                  FastPathStatus status) {
  fast_ = std::move(fast);
  fast_status_ = std::move(status);
  engine_.set_mirror(fast_.get());
}

namespace {
void add_flow(nlohmann::json& f, const core::Flow& more) {
  f["packets"] = f.value("packets", std::uint64_t{0}) + more.packets;
  f["bytes"] = f.value("bytes", std::uint64_t{0}) + more.bytes;
}
}  // namespace

nlohmann::json GatewayDaemon::status(core::Time now, bool with_states) const {
  nlohmann::json j = gateway_status(engine_, settings_, started_, now, fast_.get(),
                                    std::chrono::system_clock::now(), with_states);
  if (fast_) {
    const os::FastPathCounters c = fast_->counters();
    const os::FastPathCpuCounters t = c.total();
    // The engine's counters and the fast path's together, as without it.
    add_flow(j["counters"]["to_home"], t.forwarded_in);
    add_flow(j["counters"]["udp_in"], t.forwarded_in);
    add_flow(j["counters"]["to_mn"], t.forwarded_out);
    add_flow(j["counters"]["tun_in"], t.forwarded_out);
    j["fast_path"] = fast_path_json(fast_status_, &c, fast_->attach_mode());
    j["fast_path"]["mirrored_states"] = fast_->mirrored();
  } else {
    j["fast_path"] = fast_path_json(fast_status_, nullptr, "");
  }
  j["listen"] = nlohmann::json::array();
  for (const auto& sock : sockets_)
    if (sock) j["listen"].push_back(sock->local_endpoint().to_string());
  j["io"] = io_json(datapath_.counters());
  return j;
}

std::string GatewayDaemon::answer(const std::string& request, core::Time now) const {
  const auto wall = std::chrono::system_clock::now();
  if (request == "show") return status(now).dump();
  if (request.rfind("states ", 0) == 0) {
    std::uint32_t from = 0;
    const char* p = request.c_str() + 7;
    auto [end, ec] = std::from_chars(p, request.c_str() + request.size(), from);
    if (ec != std::errc{} || *end) return {};
    return gateway_states_page(engine_, settings_, now, wall, fast_.get(), from).dump();
  }
  if (request.rfind("state ", 0) == 0) {
    auto mn = core::Ipv6Addr::parse(request.substr(6));
    if (!mn) return R"({"error":"not an IPv6 address"})";
    return nlohmann::json{{"state", gateway_state(engine_, settings_, now, wall, fast_.get(), *mn)}}
        .dump();
  }
  return {};
}

}  // namespace m6t::app
