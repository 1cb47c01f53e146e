#pragma once

// Rules of the AI work queue: argument limits and defaults, who may act on
// which item, lease tokens, retry backoff and page tokens. Knows nothing of
// gRPC or SQL; waiting for work (wait_duration) is the transport's.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "domain/ai_work.h"
#include "domain/repositories.h"
#include "domain/sealed_token.h"

namespace messaging::domain {

struct AiWorkSettings {
  int max_attempts = 5;
  int leased_cap = 1000;  // Leased items per distributor at once.
  absl::Duration dead_letter_retention = absl::Hours(24 * 7);
};

struct AiWorkList {
  std::vector<AiWorkItem> items;
  std::string next_page_token;
};

class AiWorkService {
 public:
  AiWorkService(AiWorkRepository& repository, const TokenSealer& sealer, AiWorkSettings settings)
      : repository_(repository), sealer_(sealer), leases_(sealer), settings_(settings) {}

  // The checked claim (max_items, lease, wait) of a ClaimAiWork request.
  absl::StatusOr<AiWorkClaim> PrepareClaim(std::int64_t max_items,
                                           std::optional<absl::Duration> lease,
                                           std::optional<absl::Duration> wait) const;
  // One claim attempt (no waiting); each item carries its sealed lease token.
  absl::StatusOr<std::vector<AiWorkItem>> Claim(const RequestContext& ctx,
                                                const AiWorkClaim& claim);
  // When a waiting claim should look again at the latest (nullopt: nothing queued).
  absl::StatusOr<std::optional<absl::Time>> NextAvailable(const RequestContext& ctx);

  absl::StatusOr<AiWorkItem> Extend(const RequestContext& ctx, absl::string_view id,
                                    absl::string_view lease_token,
                                    std::optional<absl::Duration> lease);
  absl::StatusOr<Message> Complete(const RequestContext& ctx, absl::string_view id,
                                   absl::string_view lease_token, AiWorkResult result);
  absl::StatusOr<AiWorkItem> Fail(const RequestContext& ctx, absl::string_view id,
                                  absl::string_view lease_token, std::string error_message,
                                  bool retryable, absl::Duration retry_delay);
  absl::StatusOr<AiWorkList> List(const RequestContext& ctx, std::optional<AiWorkState> state,
                                  std::int32_t page_size, const std::string& page_token);
  absl::StatusOr<AiWorkItem> Requeue(const RequestContext& ctx, absl::string_view id);

  const AiWorkSettings& settings() const { return settings_; }

 private:
  // The lease named by `lease_token` for item `id`, and the caller acting in
  // its tenant.
  absl::StatusOr<std::pair<RequestContext, AiWorkLease>> OpenLease(
      const RequestContext& ctx, absl::string_view id, absl::string_view lease_token) const;
  std::string PageBinding(const RequestContext& ctx, std::optional<AiWorkState> state) const;

  AiWorkRepository& repository_;
  const TokenSealer& sealer_;
  const LeaseTokenCodec leases_;
  const AiWorkSettings settings_;
};

}  // namespace messaging::domain
