#pragma once
// The store's model types under the names the task domain uses for them.
#include "store/model.hpp"

namespace taskman::tasks {

using store::Comment;
using store::Priority;
using store::Project;
using store::Task;
using store::TaskStatus;
using store::TimeMs;

}  // namespace taskman::tasks
