#pragma once
// The commit this binary was built from, as `git describe --always --dirty` named it ("unknown"
// when built outside a git checkout): said by --version, the start-up line and /metrics
// (orderd_build_info), so an operator can tell which build each node runs. Defined in a file the
// build generates (cmake/build_commit.cmake).

namespace app {
const char* build_commit();
}  // namespace app
