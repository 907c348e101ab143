#pragma once
// A fresh temporary directory for one test, removed with everything in it by the destructor.
// Header-only so unit tests beside the code can use it without the black-box support library.
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace taskman::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = (std::filesystem::temp_directory_path() /
             ("taskman-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd())))
                .string();
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace taskman::testing
