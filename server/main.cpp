#include "app/cli.h"

int main(int argc, char** argv) { return messaging::app::RunCli(argc, argv); }
