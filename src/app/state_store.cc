#include "app/state_store.h"

#include "core/wire.h"
#include "os/fs.h"

namespace m6t::app {

StateStore::StateStore(std::string dir, const std::string& tun) : dir_(std::move(dir)) {
  while (dir_.size() > 1 && dir_.back() == '/')
    dir_.pop_back();
  if (enabled()) path_ = dir_ + "/gateway-" + tun + ".state";
}

StateStore::~StateStore() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

std::variant<core::StateSnapshot, std::string> StateStore::load(std::size_t max_states) const {
  const std::size_t max_bytes = wire::kStateFileHeaderLen + max_states * wire::kStateFileRecordLen +
                                wire::kStateFileTrailerLen;
  auto data = os::read_file(path_, max_bytes);
  if (!data) return data.error();
  if (!*data) return path_ + ": no saved states";
  auto snap = core::decode_state_file(**data, max_states);
  if (!snap) return path_ + ": not restored (" + std::string(core::to_string(snap.error())) + ")";
  return *snap;
}

void StateStore::save_async(const core::StateSnapshot& s) {
  std::vector<std::uint8_t> bytes;
  core::encode_state_file(s, bytes);
  {
    std::lock_guard lock(mutex_);
    if (stop_) return;
    pending_ = std::move(bytes);
    if (!thread_.joinable()) thread_ = std::thread([this] { writer(); });
  }
  wake_.notify_one();
}

void StateStore::writer() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || pending_; });
    if (!pending_) return;  // stopping, nothing left
    std::vector<std::uint8_t> bytes = std::move(*pending_);
    pending_.reset();
    lock.unlock();
    auto st = os::write_file_atomic(path_, bytes);
    lock.lock();
    if (st) {
      error_.clear();
      error_new_ = false;
    } else if (st.error() != error_) {
      error_ = st.error();
      error_new_ = true;
    }
    if (stop_) return;
  }
}

os::OsStatus StateStore::save_now(const core::StateSnapshot& s) {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    pending_.reset();  // superseded by this one
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::vector<std::uint8_t> bytes;
  core::encode_state_file(s, bytes);
  return os::write_file_atomic(path_, bytes);
}

std::optional<std::string> StateStore::take_error() {
  std::lock_guard lock(mutex_);
  if (!error_new_) return std::nullopt;
  error_new_ = false;
  return error_;
}

}  // namespace m6t::app
