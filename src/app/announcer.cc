#include "app/announcer.h"

#include <algorithm>

namespace m6t::app {

Announcer::Announcer(os::NetConfig& net, int ifindex, const GatewaySettings& s, const Logger& log)
    : net_(net), ifindex_(ifindex), log_(log) {
  for (const Slice& sl : s.announce) {
    os::TableRoute v4;
    v4.table = s.announce_table;
    v4.ipv4 = true;
    v4.v4 = sl.service;
    if (std::none_of(routes_.begin(), routes_.end(),
                     [&](const os::TableRoute& r) { return r.ipv4 && r.v4 == sl.service; }))
      routes_.push_back(v4);
    os::TableRoute v6;
    v6.table = s.announce_table;
    v6.v6 = sl.part;
    routes_.push_back(v6);
  }
}

os::OsStatus Announcer::announce() {
  for (const auto& r : routes_)
    if (auto st = net_.add_table_route(ifindex_, r); !st) return st;
  if (!routes_.empty()) {
    announced_ = true;
    log_.info("announcing ", routes_.size(), " route(s) in table ", routes_[0].table);
  }
  return os::Ok{};
}

void Announcer::withdraw() {
  if (!announced_) return;
  announced_ = false;
  for (const auto& r : routes_)
    if (auto st = net_.del_table_route(ifindex_, r); !st) log_.warn("withdraw: ", st.error());
  log_.info("withdrew ", routes_.size(), " announced route(s)");
}

}  // namespace m6t::app
