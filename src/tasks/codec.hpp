#pragma once
// The task domain's codec, for adapters that need all of it (the REST API): body validation, answer
// JSON, query strings, cursors and ids. Transport-neutral: no HTTP types here. Code that needs one
// part includes that header alone.
#include "tasks/cursor.hpp"
#include "tasks/ids.hpp"
#include "tasks/limits.hpp"
#include "tasks/query.hpp"
#include "tasks/task_json.hpp"
#include "tasks/types.hpp"
#include "tasks/validation.hpp"
