#include "probe/probe.h"

int main(int argc, char** argv) { return messaging::probe::RunProbe(argc, argv); }
