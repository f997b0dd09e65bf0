#include "core/slot_index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

namespace m6t::core {
namespace {

// Model check: random inserts and erases against std::map, with a deliberately weak hash so
// that long probe runs and wrap-around at the table's end are exercised.
TEST(SlotIndex, AgreesWithAMapUnderChurnAndCollisions) {
  constexpr std::uint32_t kSlots = 64;
  SlotIndex index(kSlots);
  std::vector<std::uint64_t> key_of_slot(kSlots, 0);
  std::map<std::uint64_t, std::uint32_t> model;
  std::vector<std::uint32_t> free_slots;
  for (std::uint32_t i = 0; i < kSlots; ++i)
    free_slots.push_back(i);
  auto hash = [](std::uint64_t key) { return (key % 7) << 32 | (key * 0x9e3779b9u); };
  std::mt19937_64 rng(1);
  for (int step = 0; step < 20000; ++step) {
    std::uint64_t key = rng() % 200;
    auto found = index.find(hash(key), [&](std::uint32_t s) { return key_of_slot[s] == key; });
    auto it = model.find(key);
    ASSERT_EQ(found.has_value(), it != model.end()) << "step " << step;
    if (found) {
      ASSERT_EQ(*found, it->second);
      index.erase(hash(key), *found);
      free_slots.push_back(*found);
      model.erase(it);
    } else if (!free_slots.empty()) {
      std::uint32_t s = free_slots.back();
      free_slots.pop_back();
      key_of_slot[s] = key;
      index.insert(hash(key), s);
      model[key] = s;
    }
  }
  for (const auto& kv : model) {
    std::uint64_t key = kv.first;
    std::uint32_t slot = kv.second;
    auto found = index.find(hash(key), [&](std::uint32_t s) { return key_of_slot[s] == key; });
    ASSERT_TRUE(found);
    EXPECT_EQ(*found, slot);
  }
}

struct Node {
  int value = 0;
  Links links;
};

TEST(SlotList, KeepsOrderThroughRemoveAndMoveToBack) {
  std::vector<Node> v(4);
  SlotList<Node, &Node::links> list;
  for (std::uint32_t i = 0; i < 4; ++i)
    list.push_back(v, i);
  list.remove(v, 1);
  list.move_to_back(v, 0);
  std::vector<std::uint32_t> order;
  for (std::uint32_t i = list.front(); i != kNoSlot; i = v[i].links.next)
    order.push_back(i);
  EXPECT_EQ(order, (std::vector<std::uint32_t>{2, 3, 0}));
  EXPECT_EQ(list.size(), 3u);
  list.remove(v, 2);
  list.remove(v, 3);
  list.remove(v, 0);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.front(), kNoSlot);
}

}  // namespace
}  // namespace m6t::core
