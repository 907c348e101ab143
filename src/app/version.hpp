#pragma once

namespace taskman::app {

const char* version();
const char* git_revision();
const char* build_type();

}  // namespace taskman::app
