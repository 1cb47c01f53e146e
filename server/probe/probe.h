#pragma once

// `messaging-probe`: checks a running server from the outside, as a client
// would: grpc.health.v1 says SERVING, and one authenticated, read-only call
// (ListConversations, page size 1) succeeds, with a short-lived token minted
// from the JWT secret. The chart's `helm test` pod runs it; it is in the image
// because the image has no shell or other client.

namespace messaging::probe {

// Exit code: 0 when every check passed, 1 when one failed, 2 on bad usage.
int RunProbe(int argc, char** argv);

}  // namespace messaging::probe
