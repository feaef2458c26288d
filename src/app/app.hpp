#pragma once
// The commands of the orderd binary, wired from configuration. main.cpp only parses arguments.

#include "app/config.hpp"

namespace app {

int serve(const Config& config);
int migrate(const Config& config);

}  // namespace app
