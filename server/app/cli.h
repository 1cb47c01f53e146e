#pragma once

namespace messaging::app {

// `messaging-server [serve|migrate|mint-token] [flags]`; returns the exit code.
int RunCli(int argc, char** argv);

}  // namespace messaging::app
