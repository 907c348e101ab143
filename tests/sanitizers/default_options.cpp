// Linked into every executable of a sanitizer build (TASKMAN_SANITIZE): the sanitizer runtimes call
// these before main to read their defaults. Baking them in matters because black-box tests start
// build/taskman with a minimal environment, where ASAN_OPTIONS & co. from the caller would be lost;
// a variable that is set still wins flag by flag. Reports go to files under <build>/sanitizer-logs
// so that an error in a server process is seen even when its test only watched the exit code.
#define TASKMAN_SAN_LOG TASKMAN_SANITIZER_LOG_DIR "/"
#define TASKMAN_SAN_SUPP TASKMAN_SANITIZER_SUPPRESSIONS_DIR "/"

extern "C" {

__attribute__((used, visibility("default"))) const char* __asan_default_options() {
  return "halt_on_error=1:detect_leaks=1:log_path=" TASKMAN_SAN_LOG "asan";
}

__attribute__((used, visibility("default"))) const char* __lsan_default_options() {
  return "suppressions=" TASKMAN_SAN_SUPP "lsan.supp";
}

__attribute__((used, visibility("default"))) const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:log_path=" TASKMAN_SAN_LOG "ubsan:suppressions=" TASKMAN_SAN_SUPP
         "ubsan.supp";
}

__attribute__((used, visibility("default"))) const char* __tsan_default_options() {
  return "halt_on_error=1:second_deadlock_stack=1:log_path=" TASKMAN_SAN_LOG
         "tsan:suppressions=" TASKMAN_SAN_SUPP "tsan.supp";
}

}  // extern "C"
