// A stand-in for libFuzzer's main() for targets built with g++ (clang 14 cannot compile the Asio 1.74
// coroutine code they link): runs every corpus file, then mutates corpus entries at random (bit
// flips, byte edits, chunk copies, splices, dictionary tokens) until the time or run budget is spent.
// No coverage feedback, so it finds less than libFuzzer; ASan/UBSan turn a defect into an abort, and
// the input that caused it is written first (crash-<hash>). Accepts the libFuzzer flags scripts/fuzz
// passes: -max_total_time=S -runs=N -seed=N -max_len=N -dict=FILE -artifact_prefix=P, then files/dirs.
#include <sanitizer/common_interface_defs.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Bytes = std::string;

const Bytes* g_current = nullptr;
std::string g_artifact_prefix = "./";

std::uint64_t fnv1a(const Bytes& b) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : b) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Called by ASan/UBSan before the process dies: keep the input that did it.
void save_current() {
  if (g_current == nullptr) return;
  char name[32];
  std::snprintf(name, sizeof name, "crash-%016llx", static_cast<unsigned long long>(fnv1a(*g_current)));
  const std::string path = g_artifact_prefix + name;
  std::ofstream(path, std::ios::binary) << *g_current;
  std::fprintf(stderr, "==replay== input written to %s (%zu bytes)\n", path.c_str(), g_current->size());
}

// FUZZ_CHECK and uncaught exceptions end in abort(), which the sanitizers do not report: keep the
// input there too, then die of the same signal.
void on_abort(int sig) {
  save_current();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run_one(const Bytes& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  g_current = nullptr;
}

Bytes read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// libFuzzer dictionary lines: [name=]"value" with \\, \" and \xNN escapes; # comments.
std::vector<Bytes> read_dict(const std::string& path) {
  std::vector<Bytes> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto open = line.find('"');
    const auto close = line.rfind('"');
    if (line.empty() || line[0] == '#' || open == std::string::npos || close <= open) continue;
    Bytes token;
    for (std::size_t i = open + 1; i < close; ++i) {
      if (line[i] == '\\' && i + 1 < close) {
        if (line[i + 1] == 'x' && i + 3 < close && hex_digit(line[i + 2]) >= 0 &&
            hex_digit(line[i + 3]) >= 0) {
          token += static_cast<char>(hex_digit(line[i + 2]) * 16 + hex_digit(line[i + 3]));
          i += 3;
        } else {
          token += line[++i];
        }
      } else {
        token += line[i];
      }
    }
    if (!token.empty()) out.push_back(std::move(token));
  }
  return out;
}

class Mutator {
 public:
  Mutator(std::uint64_t seed, std::vector<Bytes> dict, std::size_t max_len)
      : rng_(seed), dict_(std::move(dict)), max_len_(max_len) {}

  Bytes mutate(const std::vector<Bytes>& corpus) {
    Bytes b = corpus[pick(corpus.size())];
    const int rounds = 1 + static_cast<int>(pick(4));
    for (int i = 0; i < rounds; ++i) step(b, corpus);
    if (b.size() > max_len_) b.resize(max_len_);
    return b;
  }

 private:
  std::size_t pick(std::size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  char byte() { return static_cast<char>(pick(256)); }
  // Bytes that matter to text parsers, so a flip lands on a delimiter more often than chance.
  char special() {
    static constexpr std::string_view kSpecial = "\"\\{}[]:,-_|=&%+?/#@ \t\r\n\0\x7f\xff\xc3\xed";
    return kSpecial[pick(kSpecial.size())];
  }

  void step(Bytes& b, const std::vector<Bytes>& corpus) {
    switch (pick(9)) {
      case 0:  // flip a bit
        if (!b.empty()) b[pick(b.size())] ^= static_cast<char>(1u << pick(8));
        break;
      case 1:  // replace a byte
        if (!b.empty()) b[pick(b.size())] = pick(2) ? byte() : special();
        break;
      case 2:  // insert bytes
        b.insert(pick(b.size() + 1), pick(8) + 1, pick(2) ? byte() : special());
        break;
      case 3:  // erase a range
        if (!b.empty()) {
          const auto at = pick(b.size());
          b.erase(at, pick(b.size() - at) + 1);
        }
        break;
      case 4:  // duplicate a chunk (repetition finds nesting and length bugs)
        if (!b.empty()) {
          const auto at = pick(b.size());
          const Bytes chunk = b.substr(at, pick(b.size() - at) + 1);
          const auto times = pick(16) + 1;
          for (std::size_t i = 0; i < times && b.size() < max_len_; ++i) b.insert(pick(b.size() + 1), chunk);
        }
        break;
      case 5:  // splice with another corpus entry
        if (!corpus.empty()) {
          const Bytes& other = corpus[pick(corpus.size())];
          b = b.substr(0, pick(b.size() + 1)) + other.substr(pick(other.size() + 1));
        }
        break;
      case 6:  // a dictionary token
      case 7:
        if (!dict_.empty()) b.insert(pick(b.size() + 1), dict_[pick(dict_.size())]);
        break;
      default:  // overwrite a digit run with an extreme number
        if (!b.empty()) {
          static constexpr std::string_view kNumbers[] = {"0",
                                                          "-1",
                                                          "18446744073709551616",
                                                          "9223372036854775808",
                                                          "-9223372036854775809",
                                                          "1e999",
                                                          "65536",
                                                          "4294967296"};
          const auto at = pick(b.size());
          b.insert(at, kNumbers[pick(std::size(kNumbers))]);
        }
        break;
    }
  }

  std::mt19937_64 rng_;
  std::vector<Bytes> dict_;
  std::size_t max_len_;
};

bool flag(std::string_view arg, std::string_view name, std::string& value) {
  if (!arg.starts_with(name) || arg.size() <= name.size() || arg[name.size()] != '=') return false;
  value = std::string(arg.substr(name.size() + 1));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  double max_total_time = 0;
  std::uint64_t max_runs = 0;
  std::uint64_t seed = std::random_device{}();
  std::size_t max_len = 4096;
  std::vector<Bytes> dict;
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string v;
    if (flag(arg, "-max_total_time", v))
      max_total_time = std::stod(v);
    else if (flag(arg, "-runs", v))
      max_runs = std::stoull(v);
    else if (flag(arg, "-seed", v))
      seed = std::stoull(v);
    else if (flag(arg, "-max_len", v))
      max_len = std::stoull(v);
    else if (flag(arg, "-dict", v))
      dict = read_dict(v);
    else if (flag(arg, "-artifact_prefix", v))
      g_artifact_prefix = v;
    else if (arg.starts_with("-"))
      std::fprintf(stderr, "==replay== ignoring flag %s\n", argv[i]);
    else
      inputs.emplace_back(arg);
  }
  __sanitizer_set_death_callback(save_current);
  std::signal(SIGABRT, on_abort);

  std::vector<Bytes> corpus;
  for (const auto& p : inputs) {
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p)) {
        if (e.is_regular_file()) corpus.push_back(read_file(e.path()));
      }
    } else {
      corpus.push_back(read_file(p));
    }
  }
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t runs = 0;
  for (const auto& input : corpus) {
    run_one(input);
    ++runs;
  }
  std::fprintf(stderr, "==replay== %zu corpus inputs ran clean; mutating (seed %llu)\n", corpus.size(),
               static_cast<unsigned long long>(seed));
  if (corpus.empty()) corpus.emplace_back();
  Mutator mutator(seed, std::move(dict), max_len);
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  while ((max_runs == 0 || runs < max_runs) && (max_total_time > 0 || max_runs > 0) &&
         (max_total_time <= 0 || elapsed() < max_total_time)) {
    const Bytes input = mutator.mutate(corpus);
    run_one(input);
    ++runs;
  }
  const double secs = elapsed();
  std::fprintf(stderr, "Done %llu runs in %.0f second(s), exec/s: %.0f\n",
               static_cast<unsigned long long>(runs), secs, secs > 0 ? runs / secs : 0.0);
  return 0;
}
