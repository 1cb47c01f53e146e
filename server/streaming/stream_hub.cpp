#include "streaming/stream_hub.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace messaging::streaming {

StreamHub::StreamHub(domain::EventRepository& events, domain::ConversationRepository& conversations,
                     Executor& executor, HubOptions options)
    : events_(events),
      conversations_(conversations),
      executor_(executor),
      options_(options),
      memory_(options.memory_bytes) {}

domain::RequestContext StreamHub::ContextFor(const std::string& distributor_id) const {
  domain::RequestContext ctx;
  ctx.distributor_id = distributor_id;
  ctx.deadline = absl::Now() + options_.read_timeout;
  return ctx;
}

std::shared_ptr<StreamHub::Group> StreamHub::FindGroup(const std::string& distributor_id) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = groups_.find(distributor_id);
  return it == groups_.end() ? nullptr : it->second;
}

std::size_t StreamHub::subscriptions() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (const auto& [id, group] : groups_) {
    std::lock_guard<std::mutex> group_lock(group->mu);
    n += group->members.size();
  }
  return n;
}

void StreamHub::Subscribe(const std::shared_ptr<Subscription>& s,
                          std::optional<domain::StreamCursor> cursor) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) {
      s->Close(absl::UnavailableError("server shutting down; retry on another replica"));
      return;
    }
    auto& group = groups_[s->distributor_id()];
    if (!group) group = std::make_shared<Group>();
    std::lock_guard<std::mutex> group_lock(group->mu);
    if (group->members.size() >= options_.max_streams_per_distributor) {
      s->Close(absl::ResourceExhaustedError(
          absl::StrCat("too many open streams for this distributor (at most ",
                       options_.max_streams_per_distributor, " per server); close one and retry")));
      return;
    }
    group->Add(s);
  }
  executor_.Post([this, s, cursor = std::move(cursor)] { StartSubscription(s, cursor); });
}

void StreamHub::Unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = groups_.find(s->distributor_id());
  if (it == groups_.end()) return;
  std::lock_guard<std::mutex> group_lock(it->second->mu);
  it->second->Remove(s);
  if (it->second->members.empty() && !it->second->read_running) groups_.erase(it);
}

void StreamHub::Group::Add(const std::shared_ptr<Subscription>& s) {
  members.insert(s);
  by_conversation[s->conversation_id()].insert(s);
}

void StreamHub::Group::Remove(const std::shared_ptr<Subscription>& s) {
  if (members.erase(s) == 0) return;
  maybe_catching_up.erase(s);
  const auto it = by_conversation.find(s->conversation_id());
  it->second.erase(s);
  if (it->second.empty()) by_conversation.erase(it);
}

void StreamHub::Group::CatchingUp(const std::shared_ptr<Subscription>& s) {
  if (members.count(s) != 0) maybe_catching_up.insert(s);
}

std::vector<std::shared_ptr<Subscription>> StreamHub::Group::ConcernedBy(
    const domain::EventBatch& batch) const {
  std::vector<std::shared_ptr<Subscription>> concerned;
  absl::flat_hash_set<absl::string_view> conversations;
  auto add = [&](const std::string& conversation_id) {
    const auto it = by_conversation.find(conversation_id);
    if (it != by_conversation.end())
      concerned.insert(concerned.end(), it->second.begin(), it->second.end());
  };
  add("");
  for (const auto& event : batch.events) {
    if (conversations.insert(event.message.conversation_id).second)
      add(event.message.conversation_id);
  }
  return concerned;
}

void StreamHub::StartSubscription(const std::shared_ptr<Subscription>& s,
                                  std::optional<domain::StreamCursor> cursor) {
  if (s->closed()) return;
  const auto ctx = ContextFor(s->distributor_id());
  if (!s->conversation_id().empty()) {
    const auto conversation = conversations_.Get(ctx, s->conversation_id());
    if (!conversation.ok()) {
      s->Close(conversation.status());
      return;
    }
  }
  if (!cursor) {
    // Live start: everything from the current horizon on -- from the one the
    // listener published, once it has (until then, in the first moments of
    // the process, the database's, which Horizon() returns once durable).
    const auto horizon = events_.Horizon(ctx);
    if (!horizon.ok()) {
      s->Close(horizon.status());
      return;
    }
    const std::uint64_t durable = DurableHorizon();
    domain::StreamCursor start;
    start.position = {durable == 0 ? *horizon : std::min(*horizon, durable), 0};
    start.issued_at = absl::ToUnixMicros(absl::Now());
    cursor = start;
  }
  s->Start(*std::move(cursor));
  if (const auto group = FindGroup(s->distributor_id())) {
    std::lock_guard<std::mutex> lock(group->mu);
    group->CatchingUp(s);
  }
  ScheduleCatchUp(s);
}

void StreamHub::ResumeCatchUp(const std::shared_ptr<Subscription>& s) {
  ScheduleCatchUp(s, std::max<std::size_t>(1, s->limits().max_events / 2),
                  std::max<std::size_t>(1, s->limits().max_bytes / 2));
}

void StreamHub::ScheduleCatchUp(const std::shared_ptr<Subscription>& s, std::size_t min_free_events,
                                std::size_t min_free_bytes) {
  if (!s->ClaimCatchUp(min_free_events, min_free_bytes)) return;
  executor_.Post([this, s] { CatchUp(s); });
}

void StreamHub::CatchUp(const std::shared_ptr<Subscription>& s) {
  const std::size_t room = s->free_capacity();
  const std::size_t byte_room = s->free_bytes();
  if (s->closed() || room == 0 || byte_room == 0) {
    s->ReleaseCatchUp();
    return;
  }
  // The read holds no more than the memory reserved for what it returns (plus
  // one event), and it needs room for the event the previous one stopped at.
  const std::size_t want =
      std::max(s->next_event_bytes(),
               std::min(byte_room,
                        static_cast<std::size_t>(std::max<std::int64_t>(1, options_.read_bytes))));
  const std::size_t reserved =
      memory_.ReserveUpTo(want, std::max<std::size_t>(1, s->next_event_bytes()));
  if (reserved == 0) {
    // The next wake-up retries; meanwhile RelieveMemoryPressure frees memory.
    s->ReleaseCatchUp();
    return;
  }
  domain::EventQuery query;
  query.after = s->cursor();
  query.horizon_cap = DurableHorizon();
  query.limit = static_cast<int>(std::min<std::size_t>(room, options_.batch_size));
  query.max_bytes = static_cast<std::int64_t>(reserved);
  auto batch = events_.Read(ContextFor(s->distributor_id()), query, s->conversation_id());
  if (!batch.ok()) {
    // Transient (e.g. the database restarts): the next wake-up retries.
    log::Debug("stream catch-up read failed: {}", batch.status().message());
    memory_.Release(reserved);
    s->ReleaseCatchUp();
    return;
  }
  if (auto pruned = domain::CheckNotPruned(query.after, *batch); !pruned.ok()) {
    memory_.Release(reserved);
    s->Close(pruned);
    s->ReleaseCatchUp();
    return;
  }
  const bool took_all = s->AppendCatchUp(*batch, reserved);
  bool live = false;
  if (took_all && batch->complete) {
    if (auto group = FindGroup(s->distributor_id())) {
      std::lock_guard<std::mutex> lock(group->mu);
      if (!group->head) {
        // First live member: the group continues from its cursor.
        if (s->TryGoLive(s->cursor().position)) {
          group->head = s->cursor().position;
          live = true;
        }
      } else {
        live = s->TryGoLive(*group->head);
      }
    }
  }
  s->ReleaseCatchUp();
  // More to read right away. A batch not taken whole waits for room instead
  // (its writes draining, or the next wake-up).
  if (!live && took_all && !batch->complete) ScheduleCatchUp(s);
}

void StreamHub::RelieveMemoryPressure() {
  if (!memory_.TakeRefusals()) return;
  const auto stalled_before =
      Subscription::Clock::now() - absl::ToChronoNanoseconds(options_.stall_timeout);
  std::vector<std::shared_ptr<Subscription>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, group] : groups_) {
      std::lock_guard<std::mutex> group_lock(group->mu);
      all.insert(all.end(), group->members.begin(), group->members.end());
    }
  }
  const absl::Status status = absl::ResourceExhaustedError(
      "stream ended: its client stopped reading while the server's stream memory was "
      "exhausted; resume from the last cursor");
  std::uint64_t ended = 0;
  for (const auto& s : all) ended += s->AbortIfStalled(stalled_before, status) ? 1 : 0;
  if (ended > 0) {
    stalled_ended_ += ended;
    log::Warn(
        "stream memory exhausted ({} of {} bytes): ended {} streams whose clients stopped "
        "reading",
        memory_.used(), memory_.limit(), ended);
  }
}

std::uint64_t StreamHub::DurableHorizon() const {
  std::lock_guard<std::mutex> lock(mu_);
  return heads_horizon_;
}

void StreamHub::OnHeads(const domain::EventHeads& heads, bool everything) {
  RelieveMemoryPressure();
  std::vector<std::pair<std::string, std::shared_ptr<Group>>> groups;
  std::uint64_t from = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = heads_horizon_;
    heads_horizon_ = heads.horizon;
    groups.assign(groups_.begin(), groups_.end());
  }
  std::set<std::string> changed;
  for (const auto& head : heads.changed) changed.insert(head.distributor_id);
  for (const auto& [distributor_id, group] : groups) {
    const bool idle =
        !everything && changed.count(distributor_id) == 0 && AdvanceIdleGroup(*group, heads, from);
    if (!idle) ScheduleGroupRead(distributor_id, group);
    // Catching-up members read for themselves on every wake-up until they
    // reach the group's head and go live (rarely more than one read).
    std::vector<std::shared_ptr<Subscription>> catching_up;
    {
      std::lock_guard<std::mutex> lock(group->mu);
      absl::erase_if(group->maybe_catching_up, [&](const std::shared_ptr<Subscription>& s) {
        if (s->mode() != Subscription::Mode::kCatchUp) return true;  // Live again.
        catching_up.push_back(s);
        return false;
      });
    }
    for (const auto& s : catching_up) ScheduleCatchUp(s);
  }
}

bool StreamHub::AdvanceIdleGroup(Group& group, const domain::EventHeads& heads,
                                 std::uint64_t from) {
  std::lock_guard<std::mutex> lock(group.mu);
  if (!group.head) return true;              // Nobody is live; catching-up members read anyway.
  if (group.read_running) return true;       // That read moves the head itself.
  if (group.head->xid < from) return false;  // Events in [head, from) were not covered.
  const domain::StreamPosition horizon{heads.horizon, 0};
  if (*group.head < horizon) {
    // Members' cursors follow lazily (a heartbeat, or the next batch).
    group.head = horizon;
    group.head_read_at = heads.read_at;
  }
  return true;
}

void StreamHub::ScheduleGroupRead(const std::string& distributor_id,
                                  const std::shared_ptr<Group>& group) {
  {
    std::lock_guard<std::mutex> lock(group->mu);
    if (!group->head) return;  // Nobody is live.
    if (group->read_running) {
      group->read_again = true;  // Coalesce wake-ups while a read is running.
      return;
    }
    group->read_running = true;
  }
  executor_.Post([this, distributor_id, group] { GroupRead(distributor_id, group); });
}

void StreamHub::GroupRead(const std::string& distributor_id, const std::shared_ptr<Group>& group) {
  domain::EventQuery query;
  {
    std::lock_guard<std::mutex> lock(group->mu);
    query.after.position = *group->head;
  }
  query.horizon_cap = DurableHorizon();
  query.limit = options_.batch_size;
  query.max_bytes = options_.read_bytes;
  auto batch = events_.Read(ContextFor(distributor_id), query, /*conversation_id=*/"");
  if (batch.ok()) {
    if (auto pruned = domain::CheckNotPruned(query.after, *batch); !pruned.ok()) {
      ClosePrunedGroup(distributor_id, group, pruned);
      return;
    }
  }
  std::vector<std::shared_ptr<Subscription>> members;
  bool again = false;
  {
    std::lock_guard<std::mutex> lock(group->mu);
    if (batch.ok()) {
      group->head = domain::Advance(query.after, *batch).position;
      if (batch->complete) group->head_read_at = batch->read_at;
      const absl::Time now = absl::Now();
      if (now - group->refreshed_at >= options_.refresh_every) {
        group->refreshed_at = now;
        members.assign(group->members.begin(), group->members.end());
      } else {
        members = group->ConcernedBy(*batch);
      }
    }
    again = group->read_again || (batch.ok() && !batch->complete);
    group->read_again = false;
  }
  if (!batch.ok()) {
    log::Debug("stream group read failed: {}", batch.status().message());
  } else {
    CursorMemo cursors;
    for (const auto& s : members) {
      if (s->OfferLive(*batch, &cursors)) continue;
      {
        std::lock_guard<std::mutex> lock(group->mu);
        group->CatchingUp(s);
      }
      ScheduleCatchUp(s);
    }
  }
  bool run_again = false;
  {
    std::lock_guard<std::mutex> lock(group->mu);
    group->read_running = false;
    if (again && batch.ok()) {
      group->read_running = true;
      run_again = true;
    }
  }
  if (run_again) {
    executor_.Post([this, distributor_id, group] { GroupRead(distributor_id, group); });
  } else {
    ForgetGroupIfEmpty(distributor_id);
  }
}

void StreamHub::ClosePrunedGroup(const std::string& distributor_id,
                                 const std::shared_ptr<Group>& group, const absl::Status& status) {
  std::vector<std::shared_ptr<Subscription>> live;
  {
    std::lock_guard<std::mutex> lock(group->mu);
    for (const auto& s : group->members) {
      if (s->mode() == Subscription::Mode::kLive) live.push_back(s);
    }
    // Nobody is live any more; a member that catches up (past the mark, on
    // its own reads) starts the group again from its cursor.
    group->head.reset();
    group->read_running = false;
    group->read_again = false;
  }
  for (const auto& s : live) s->Close(status);
  ForgetGroupIfEmpty(distributor_id);
}

void StreamHub::ForgetGroupIfEmpty(const std::string& distributor_id) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = groups_.find(distributor_id);
  if (it == groups_.end()) return;
  std::lock_guard<std::mutex> group_lock(it->second->mu);
  if (it->second->members.empty() && !it->second->read_running) groups_.erase(it);
}

void StreamHub::Heartbeat() {
  std::vector<std::pair<domain::EventBatch, std::vector<std::shared_ptr<Subscription>>>> groups;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, group] : groups_) {
      std::lock_guard<std::mutex> group_lock(group->mu);
      // The group's head is final and holds nothing more for its distributor:
      // live members' heartbeat cursors move there (and stay within retention).
      domain::EventBatch quiet;
      quiet.complete = true;
      if (group->head && !group->read_running) {
        quiet.horizon = group->head->xid;
        quiet.read_at = group->head_read_at;
      }
      groups.emplace_back(std::move(quiet), std::vector<std::shared_ptr<Subscription>>(
                                                group->members.begin(), group->members.end()));
    }
  }
  for (const auto& [quiet, members] : groups) {
    CursorMemo cursors;
    for (const auto& s : members) {
      if (quiet.horizon != 0) s->OfferLive(quiet, &cursors);
      s->OfferHeartbeat(&cursors);
    }
  }
}

void StreamHub::Shutdown(const absl::Status& status) {
  std::vector<std::shared_ptr<Subscription>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    for (const auto& [id, group] : groups_) {
      std::lock_guard<std::mutex> group_lock(group->mu);
      all.insert(all.end(), group->members.begin(), group->members.end());
    }
  }
  for (const auto& s : all) s->Close(status);
}

}  // namespace messaging::streaming
