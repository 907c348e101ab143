#pragma once
// Just enough PNG decoding (zlib + the five row filters) to check a screenshot is a real picture:
// its size and a few of its pixels. 8-bit RGB or RGBA, non-interlaced (what Chromium writes).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace taskman::testing::status {

struct Image {
  std::uint32_t width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // 3 bytes per pixel, row-major
  struct Pixel {
    std::uint8_t r, g, b;
  };
  Pixel at(std::uint32_t x, std::uint32_t y) const {
    const std::size_t i = (static_cast<std::size_t>(y) * width + x) * 3;
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

// The decoded image, or an error message in `why`.
std::optional<Image> decode_png(const std::string& bytes, std::string& why);

}  // namespace taskman::testing::status
