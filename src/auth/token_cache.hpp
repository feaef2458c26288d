#pragma once
// Access tokens already verified, so that a client presenting the same token on every request pays
// for libjwt's decode and HMAC once per token rather than once per request (a third of the cost of
// a product-list request, measured with callgrind). A token string is immutable and signed with a
// key that does not change while the process runs, so its verified claims stay true until its
// expiry, which every hit checks again. Bounded: each shard forgets everything when full.

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace auth {

template <class Claims>
class VerifiedTokenCache {
 public:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kPerShard = 4096;

  // The claims of a token verified before and not expired at `now`.
  std::optional<Claims> find(std::string_view token, std::int64_t now) {
    auto& shard = shard_for(token);
    std::lock_guard lock(shard.mutex);
    auto it = shard.entries.find(token);
    if (it == shard.entries.end()) return std::nullopt;
    if (it->second.expires_at <= now) {
      shard.entries.erase(it);
      return std::nullopt;
    }
    return it->second.claims;
  }

  void remember(std::string_view token, const Claims& claims, std::int64_t expires_at) {
    auto& shard = shard_for(token);
    std::lock_guard lock(shard.mutex);
    if (shard.entries.size() >= kPerShard) shard.entries.clear();
    shard.entries.insert_or_assign(std::string(token), Entry{claims, expires_at});
  }

 private:
  struct Entry {
    Claims claims;
    std::int64_t expires_at = 0;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries;
  };

  Shard& shard_for(std::string_view token) { return shards_[Hash{}(token) % kShards]; }

  std::array<Shard, kShards> shards_;
};

}  // namespace auth
