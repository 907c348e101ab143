#include "status/png_check.hpp"

#include <zlib.h>

#include <cstdlib>

namespace taskman::testing::status {
namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[at + 3]));
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

}  // namespace

std::optional<Image> decode_png(const std::string& s, std::string& why) {
  if (s.size() < 33 || s.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) {
    why = "not a PNG signature";
    return std::nullopt;
  }
  Image img;
  int channels = 0;
  std::string idat;
  for (std::size_t at = 8; at + 12 <= s.size();) {
    const std::uint32_t len = be32(s, at);
    const std::string type = s.substr(at + 4, 4);
    if (at + 12 + len > s.size()) break;
    if (type == "IHDR") {
      img.width = be32(s, at + 8);
      img.height = be32(s, at + 12);
      const int depth = static_cast<std::uint8_t>(s[at + 16]);
      const int color = static_cast<std::uint8_t>(s[at + 17]);
      const int interlace = static_cast<std::uint8_t>(s[at + 20]);
      channels = color == 6 ? 4 : color == 2 ? 3 : 0;
      if (depth != 8 || channels == 0 || interlace != 0) {
        why = "unsupported PNG format (depth " + std::to_string(depth) + ", color type " +
              std::to_string(color) + ")";
        return std::nullopt;
      }
    } else if (type == "IDAT") {
      idat += s.substr(at + 8, len);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + len;
  }
  if (img.width == 0 || img.height == 0 || idat.empty()) {
    why = "no IHDR or IDAT";
    return std::nullopt;
  }
  const std::size_t stride = static_cast<std::size_t>(img.width) * channels;
  std::vector<std::uint8_t> raw((stride + 1) * img.height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size()) {
    why = "IDAT does not inflate to the image size";
    return std::nullopt;
  }
  std::vector<std::uint8_t> prev(stride, 0), cur(stride);
  img.rgb.resize(static_cast<std::size_t>(img.width) * img.height * 3);
  for (std::uint32_t y = 0; y < img.height; ++y) {
    const std::uint8_t* row = raw.data() + y * (stride + 1);
    const int filter = row[0];
    for (std::size_t i = 0; i < stride; ++i) {
      const int x = row[1 + i];
      const int a = i >= static_cast<std::size_t>(channels) ? cur[i - channels] : 0;
      const int b = prev[i];
      const int c = i >= static_cast<std::size_t>(channels) ? prev[i - channels] : 0;
      int v = x;
      switch (filter) {
        case 0:
          break;
        case 1:
          v = x + a;
          break;
        case 2:
          v = x + b;
          break;
        case 3:
          v = x + (a + b) / 2;
          break;
        case 4:
          v = x + paeth(a, b, c);
          break;
        default:
          why = "bad filter type " + std::to_string(filter);
          return std::nullopt;
      }
      cur[i] = static_cast<std::uint8_t>(v & 0xff);
    }
    for (std::uint32_t x = 0; x < img.width; ++x) {
      for (int k = 0; k < 3; ++k)
        img.rgb[(static_cast<std::size_t>(y) * img.width + x) * 3 + k] = cur[x * channels + k];
    }
    prev.swap(cur);
  }
  return img;
}

}  // namespace taskman::testing::status
