#include "app/gateway_daemon.h"

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

void GatewayDaemon::on_timer(core::Time now) {
  engine_.expire(now);
  drops_.report(engine_.counters().drops, now, log_);
}

void GatewayDaemon::shutdown(core::Time now) {
  drops_.flush(engine_.counters().drops, now, log_);
}

core::Deadline GatewayDaemon::next_deadline() const {
  return core::earliest(engine_.next_deadline(), drops_.next_deadline());
}

nlohmann::json GatewayDaemon::status(core::Time now) const {
  nlohmann::json j = gateway_status(engine_, settings_, started_, now);
  for (std::size_t i = 0; i < sockets_.size(); ++i)
    j["listen"][i] = sockets_[i]->local_endpoint().to_string();
  j["io"] = io_json(datapath_.counters());
  return j;
}

}  // namespace m6t::app
